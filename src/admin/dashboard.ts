/** The live dashboard: one self-contained page that polls the JSON API. No build step. */

/** The page served at `/` of the admin server. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ballast</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { padding: .3rem .6rem; border-bottom: 1px solid #e3e6eb; text-align: right; white-space: nowrap; }
  th:first-child, td:first-child, td.text { text-align: left; }
  th { background: #eef1f5; font-weight: 600; }
  .up { color: #137333; } .down { color: #c5221f; font-weight: 600; } .muted { color: #888; }
  .bar { display: inline-block; height: .6rem; background: #4a7fd6; vertical-align: middle; }
  #status { color: #555; } #error { color: #c5221f; }
  button { font-size: .8rem; margin-left: .2rem; }
</style>
</head>
<body>
<h1>ballast</h1>
<div id="status">connecting…</div>
<div id="error"></div>
<div id="auth" hidden>Token: <input id="token" type="password" size="30"> <button id="save">use</button></div>
<h2>Listeners</h2>
<table id="listeners"><thead><tr><th>name</th><th>protocol</th><th>address</th><th>stats</th></tr></thead><tbody></tbody></table>
<div id="pools"></div>
<script>
"use strict";
const tokenKey = "ballast-admin-token";
const headers = () => {
  const token = sessionStorage.getItem(tokenKey);
  return token ? { authorization: "Bearer " + token } : {};
};
document.getElementById("save").onclick = () => {
  sessionStorage.setItem(tokenKey, document.getElementById("token").value);
  document.getElementById("auth").hidden = true;
  poll();
};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
// Names go into onclick attributes: JSON for the script, escaped for the attribute.
const arg = (s) => esc(JSON.stringify(s));
async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  if (res.status === 401) { document.getElementById("auth").hidden = false; throw new Error("token needed"); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}
async function act(pool, id, action) {
  try {
    await api("/api/pools/" + encodeURIComponent(pool) + "/backends/" + encodeURIComponent(id) + "/" + action, { method: "POST" });
    poll();
  } catch (e) { document.getElementById("error").textContent = e.message; }
}
window.act = act;
function renderPools(pools) {
  let max = 1;
  for (const p of pools) for (const b of p.backends) max = Math.max(max, b.requestsPerSecond);
  document.getElementById("pools").innerHTML = pools.map((p) => \`
    <h2>pool \${esc(p.name)} <span class="muted">(\${esc(p.algorithm)})</span></h2>
    <table><thead><tr><th>backend</th><th>address</th><th>weight</th><th>effective</th><th>active</th>
    <th>inactive</th><th>health</th><th>state</th><th>requests</th><th>failures</th><th>latency ms</th>
    <th>req/s</th><th></th><th></th></tr></thead><tbody>
    \${p.backends.map((b) => \`<tr>
      <td>\${esc(b.id)}</td><td class="text">\${esc(b.address)}</td><td>\${b.weight}</td>
      <td>\${Math.round(b.effectiveWeight * 100) / 100}</td><td>\${b.active}</td><td>\${b.inactive}</td>
      <td class="\${b.health}">\${b.health}</td>
      <td class="text">\${b.draining ? "draining" : b.enabled ? (b.available && !b.overloaded ? "available" : "unavailable") : "disabled"}\${b.backup ? " (backup)" : ""}</td>
      <td>\${b.requests}</td><td>\${b.failures}</td><td>\${b.latencyMs}</td><td>\${b.requestsPerSecond}</td>
      <td class="text"><span class="bar" style="width:\${Math.round((b.requestsPerSecond / max) * 120)}px"></span></td>
      <td class="text">
        <button onclick='act(\${arg(p.name)}, \${arg(b.id)}, "drain")'>drain</button>
        <button onclick='act(\${arg(p.name)}, \${arg(b.id)}, "\${b.enabled && !b.draining ? "disable" : "enable"}")'>\${b.enabled && !b.draining ? "disable" : "enable"}</button>
      </td></tr>\`).join("")}
    </tbody></table>\`).join("");
}
function renderListeners(listeners) {
  document.querySelector("#listeners tbody").innerHTML = listeners.map((l) => \`<tr>
    <td>\${esc(l.name)}</td><td class="text">\${esc(l.protocol)}</td><td class="text">\${esc(l.address)}</td>
    <td class="text">\${Object.entries(l.stats).map(([k, v]) => esc(k) + "=" + v).join(" ")}</td></tr>\`).join("");
}
async function poll() {
  try {
    const [status, listeners, pools] = await Promise.all([api("/api/status"), api("/api/listeners"), api("/api/pools")]);
    document.getElementById("status").textContent =
      "pid " + status.pid + " · up " + status.uptimeSeconds + " s · config " + (status.configFile || "(inline)") +
      " loaded " + status.configLoadedAt + " · reloads " + status.reloads;
    document.getElementById("error").textContent = "";
    renderListeners(listeners);
    renderPools(pools);
  } catch (e) { document.getElementById("error").textContent = e.message; }
}
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
`;
