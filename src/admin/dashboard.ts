/**
 * The live dashboard: one self-contained page that polls the JSON API. No build step.
 * Its pool tables follow HAProxy's stats page, which operators already read: status with
 * the last check ("L7STS/500 in 1ms") and why, time in the state and downtime, sessions
 * and queue (current/max/limit), bytes, errors by kind, and a totals row per pool. With a
 * registry, its services (instances, expired ones kept, watchers) and leases show too.
 */

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
  h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { padding: .25rem .5rem; border-bottom: 1px solid #e3e6eb; white-space: nowrap; text-align: left; vertical-align: top; }
  th { background: #eef1f5; font-weight: 600; }
  thead tr.group th { text-align: center; border-left: 1px solid #d5dae1; }
  th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.sep, th.sep { border-left: 1px solid #e3e6eb; }
  tr.total td { font-weight: 600; background: #f1f4f8; border-top: 2px solid #c9d0da; }
  .UP { color: #137333; } .DOWN { color: #c5221f; font-weight: 600; } .MAINT, .DRAIN { color: #a25b00; }
  .muted { color: #777; } .why { color: #777; max-width: 22rem; overflow: hidden; text-overflow: ellipsis; }
  .bar { display: inline-block; height: .6rem; background: #4a7fd6; vertical-align: middle; }
  #status { color: #555; } #error { color: #c5221f; }
  button { font-size: .8rem; margin-left: .2rem; }
  .toolbar { margin: .6rem 0; }
  .scroll { overflow-x: auto; }
</style>
</head>
<body>
<h1>ballast</h1>
<div id="status">connecting…</div>
<div id="error"></div>
<form id="auth" hidden autocomplete="off">
  <label>Token: <input id="token" type="password" size="30"></label> <button type="submit">use</button>
</form>
<div class="toolbar">Export stats: <button id="export-csv" type="button">CSV</button><button id="export-json" type="button">JSON</button></div>
<h2>Listeners</h2>
<table id="listeners"><thead><tr><th>name</th><th>protocol</th><th>address</th><th>counters</th></tr></thead><tbody></tbody></table>
<div id="dns"></div>
<div id="caches"></div>
<div id="registry"></div>
<div id="pools"></div>
<script>
"use strict";
const tokenKey = "ballast-admin-token";
// A link such as ballast demo prints carries the token in the fragment, which the browser
// never sends; it moves to this tab's session storage and out of the address bar.
const linked = new URLSearchParams(location.hash.slice(1)).get("token");
if (linked) {
  sessionStorage.setItem(tokenKey, linked);
  history.replaceState(null, "", location.pathname + location.search);
}
const headers = () => {
  const token = sessionStorage.getItem(tokenKey);
  return token ? { authorization: "Bearer " + token } : {};
};
// A form, so Enter in the token field submits it as the button does.
document.getElementById("auth").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(tokenKey, document.getElementById("token").value);
  document.getElementById("auth").hidden = true;
  poll();
});
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
// Names go into onclick attributes: JSON for the script, escaped for the attribute.
const arg = (s) => esc(JSON.stringify(s));
const num = (n) => (n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US"));
const bytes = (n) => {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return v.toFixed(1) + " " + units[i];
};
// HAProxy's style: "3d4h", "5h12m", "4m7s", "9s".
const since = (s) => {
  if (s === null || s === undefined) return "-";
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (d > 0) return d + "d" + h + "h";
  if (h > 0) return h + "h" + m + "m";
  if (m > 0) return m + "m" + sec + "s";
  return sec + "s";
};
async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  if (res.status === 401) {
    document.getElementById("auth").hidden = false;
    document.getElementById("token").focus();
    throw new Error("token needed");
  }
  if (options.raw) { if (!res.ok) throw new Error(res.statusText); return res; }
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
// A download through fetch, so the token goes in the header and never in a URL.
async function exportStats(format) {
  try {
    const res = await api("/api/stats?format=" + format, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = "ballast-stats." + format;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) { document.getElementById("error").textContent = e.message; }
}
document.getElementById("export-csv").onclick = () => exportStats("csv");
document.getElementById("export-json").onclick = () => exportStats("json");
const HEAD = \`<thead>
  <tr class="group"><th></th><th colspan="5">status</th><th colspan="5">sessions</th><th colspan="2">queue</th>
  <th colspan="2">bytes</th><th colspan="3">errors</th><th colspan="2">weight</th><th colspan="3"></th></tr>
  <tr><th>backend</th><th>status</th><th>last check</th><th>why</th><th class="num">since</th><th class="num">downtime</th>
  <th class="num sep">cur</th><th class="num">max</th><th class="num">limit</th><th class="num">total</th><th class="num">req/s</th>
  <th class="num sep">cur</th><th class="num">max</th>
  <th class="num sep">in</th><th class="num">out</th>
  <th class="num sep">conn</th><th class="num">resp</th><th class="num">chk fail</th>
  <th class="num sep">cfg</th><th class="num">eff</th>
  <th class="num sep">latency ms</th><th></th><th></th></tr></thead>\`;
function backendRow(p, b, max) {
  const c = b.check;
  const state = b.status.split(" ")[0];
  const toggle = b.enabled && !b.draining ? "disable" : "enable";
  return \`<tr data-backend="\${esc(b.id)}">
    <td title="\${esc(b.address)}">\${esc(b.id)}\${b.backup ? ' <span class="muted">(backup)</span>' : ""}</td>
    <td class="\${esc(state)}">\${esc(b.status)}</td>
    <td>\${c ? esc(c.summary) : '<span class="muted">no check</span>'}</td>
    <td class="why" title="\${c ? esc(c.lastDetail) : ""}">\${c ? esc(c.lastDetail) : ""}</td>
    <td class="num">\${since(b.stateSeconds)}</td><td class="num">\${since(b.downtimeSeconds)}</td>
    <td class="num sep">\${num(b.sessions.current)}</td><td class="num">\${num(b.sessions.max)}</td><td class="num">\${num(b.sessions.limit)}</td>
    <td class="num">\${num(b.requests)}</td><td class="num">\${num(b.requestsPerSecond)}</td>
    <td class="num sep">\${num(b.queue.current)}</td><td class="num">\${num(b.queue.max)}</td>
    <td class="num sep">\${bytes(b.bytesIn)}</td><td class="num">\${bytes(b.bytesOut)}</td>
    <td class="num sep">\${num(b.errors.connect)}</td><td class="num">\${num(b.errors.response)}</td><td class="num">\${c ? num(c.failedChecks) : "-"}</td>
    <td class="num sep">\${num(b.weight)}</td><td class="num">\${num(Math.round(b.effectiveWeight * 100) / 100)}</td>
    <td class="num sep">\${num(b.latencyMs)}</td>
    <td><span class="bar" style="width:\${Math.round((b.requestsPerSecond / max) * 80)}px"></span></td>
    <td>
      <button onclick='act(\${arg(p.name)}, \${arg(b.id)}, "drain")'>drain</button>
      <button onclick='act(\${arg(p.name)}, \${arg(b.id)}, "\${toggle}")'>\${toggle}</button>
    </td></tr>\`;
}
function totalRow(p) {
  const t = p.totals;
  return \`<tr class="total"><td>total</td><td>\${t.available}/\${t.backends} available</td><td></td><td></td><td></td><td></td>
    <td class="num sep">\${num(t.active)}</td><td></td><td></td><td class="num">\${num(t.requests)}</td><td class="num">\${num(t.requestsPerSecond)}</td>
    <td class="num sep">\${num(t.inactive)}</td><td></td>
    <td class="num sep">\${bytes(t.bytesIn)}</td><td class="num">\${bytes(t.bytesOut)}</td>
    <td class="num sep">\${num(t.connectErrors)}</td><td class="num">\${num(t.responseErrors)}</td><td></td>
    <td class="sep"></td><td></td><td class="sep"></td><td></td><td></td></tr>\`;
}
function renderPools(pools) {
  let max = 1;
  for (const p of pools) for (const b of p.backends) max = Math.max(max, b.requestsPerSecond);
  document.getElementById("pools").innerHTML = pools.map((p) => \`
    <h2>pool \${esc(p.name)} <span class="muted">(\${esc(p.algorithm)})</span></h2>
    <div class="scroll"><table class="pool" data-pool="\${esc(p.name)}">\${HEAD}<tbody>
    \${p.backends.map((b) => backendRow(p, b, max)).join("")}
    \${totalRow(p)}
    </tbody></table></div>\`).join("");
}
function renderListeners(listeners) {
  document.querySelector("#listeners tbody").innerHTML = listeners.map((l) => \`<tr>
    <td>\${esc(l.name)}</td><td>\${esc(l.protocol)}</td><td>\${esc(l.address)}</td>
    <td>\${Object.entries(l.stats).map(([k, v]) => esc(k) + " <b>" + num(v) + "</b>").join(" · ")}</td></tr>\`).join("");
}
function renderDns(views) {
  // Per listener: its zones with the answers counted by RCODE, then every name with what
  // it answers now (pool-backed names per region: what changes with health).
  const html = views.map((v) => {
    const counts = (v.answers && v.answers.zones) || {};
    const regions = Object.entries((v.answers && v.answers.regions) || {});
    const zoneRows = v.zones.map((z) => "<tr data-dns-zone='" + esc(z.zone) + "'><td>" + esc(z.zone) + "</td><td class='num'>" +
      esc(z.serial) + "</td><td class='num'>" + num(z.records.length) + "</td><td>" +
      (Object.entries(counts[z.zone] || {}).map(([rcode, n]) => esc(rcode) + " <b>" + num(n) + "</b>").join(" · ") || "<span class='muted'>none yet</span>") +
      "</td></tr>").join("");
    const nameRows = [];
    for (const z of v.zones) for (const r of z.records) {
      if (r.answers === undefined) {
        nameRows.push(dnsRow(r, "", (r.values || []).map(zoneValue).join(", ")));
        continue;
      }
      for (const [region, a] of Object.entries(r.answers)) {
        const text = a.kind === "addresses" ? (a.hosts.join(" ") || "(none)") + (a.pool ? " [" + a.pool + "]" : "")
          : a.kind === "cname" ? "CNAME " + a.target : "SERVFAIL";
        nameRows.push(dnsRow(r, region, text));
      }
    }
    return "<h2>DNS listener " + esc(v.listener) + "</h2>" +
      "<table data-dns-listener='" + esc(v.listener) + "'><thead><tr><th>zone</th><th class='num'>serial</th><th class='num'>record sets</th><th>answers by RCODE</th></tr></thead><tbody>" +
      zoneRows + "</tbody></table>" +
      (regions.length === 0 ? "" : "<p data-dns-regions>answers by client region: " + regions.map(([r, n]) => esc(r) + " <b>" + num(n) + "</b>").join(" · ") + "</p>") +
      "<h3>What each name answers now</h3><div class='scroll'><table><thead><tr><th>name</th><th>type</th><th class='num'>ttl</th><th>region</th><th>answer</th></tr></thead><tbody>" +
      nameRows.join("") + "</tbody></table></div>";
  }).join("");
  document.getElementById("dns").innerHTML = html;
}
// Record data as a zone file writes it: "10 mail.example.com", not JSON.
function zoneValue(x) {
  if (Array.isArray(x)) return x.map(zoneValue).join(" ");
  if (x !== null && typeof x === "object") return Object.values(x).map(zoneValue).join(" ");
  return String(x);
}
function dnsRow(r, region, text) {
  return "<tr data-dns-name='" + esc(r.name) + "' data-dns-type='" + esc(r.type) + "' data-region='" + esc(region) + "'><td>" +
    esc(r.name) + "</td><td>" + esc(r.type) + "</td><td class='num'>" + num(r.ttl) + "</td><td>" +
    (region ? esc(region) : "<span class='muted'>any</span>") + "</td><td>" + esc(text) + "</td></tr>";
}
function renderCaches(zones) {
  // One row per caching route: its own hit ratio, whichever zone it shares.
  const rows = [];
  for (const z of zones) for (const r of z.routes) {
    rows.push('<tr data-cache-route="' + esc(r.route) + '"><td>' + esc(r.route) + "</td><td>" + esc(z.name) +
      '</td><td class="num">' + num(r.hits) + '</td><td class="num">' + num(r.stale) +
      '</td><td class="num">' + num(r.misses) + '</td><td class="num">' + num(r.bypass) +
      '</td><td class="num">' + (r.hitRatio * 100).toFixed(1) + " %</td></tr>");
  }
  document.getElementById("caches").innerHTML = rows.length === 0 ? "" :
    "<h2>Cache hit ratio per route</h2><table><thead><tr><th>route</th><th>zone</th><th>hits</th><th>stale</th>" +
    "<th>misses</th><th>bypass</th><th>hit ratio</th></tr></thead><tbody>" + rows.join("") + "</tbody></table>";
}
// The registry: services with their counts and watchers, then the instances of the first
// few services with the time their leases have left.
const REGISTRY_SERVICES_SHOWN = 10;
const left = (ms) => ms <= 0 ? "0s" : ms < 10000 ? (ms / 1000).toFixed(1) + "s" : since(Math.round(ms / 1000));
async function renderRegistry() {
  const view = await api("/api/registry/services");
  const watching = new Map(view.watchers.map((w) => [w.service, w]));
  const shown = view.services.slice(0, REGISTRY_SERVICES_SHOWN);
  const leases = await Promise.all(shown.map((s) => api("/api/registry/services/" + encodeURIComponent(s.service) + "/leases")));
  const now = Date.now();
  const services = view.services.map((s) => {
    const w = watching.get(s.service) || { streams: 0, polls: 0 };
    return \`<tr data-service="\${esc(s.service)}"><td>\${esc(s.service)}</td><td class="num">\${num(s.instances)}</td>
      <td class="num">\${num(s.expired)}</td><td class="num">\${num(s.index)}</td><td class="num">\${num(w.streams)}</td>
      <td class="num">\${num(w.polls)}</td><td class="\${s.preserving ? "DOWN" : "UP"}">\${s.preserving ? "PRESERVING" : "ok"}</td></tr>\`;
  }).join("");
  const instances = shown.map((s, i) => leases[i].map((l) => \`<tr data-instance="\${esc(s.service + "/" + l.id)}">
      <td>\${esc(s.service)}</td><td>\${esc(l.id)}</td><td>\${esc(l.host.includes(":") ? "[" + l.host + "]:" + l.port : l.host + ":" + l.port)}</td>
      <td>\${esc(l.zone || "-")}</td><td class="num">\${num(l.weight)}</td><td class="num">\${left(l.ttlMs)}</td>
      <td class="num">\${l.expired ? "expired" : left(l.expiresAt - now)}</td><td class="num">\${num(l.renewals)}</td>
      <td class="\${l.expired ? "DOWN" : "UP"}">\${l.expired ? "KEPT" : "live"}</td></tr>\`).join("")).join("");
  document.getElementById("registry").innerHTML = \`<h2>Registry <span class="muted">(index \${num(view.index)})</span></h2>
    <table id="registry-services"><thead><tr><th>service</th><th class="num">instances</th><th class="num">expired</th>
    <th class="num">index</th><th class="num">streams</th><th class="num">long-polls</th><th>state</th></tr></thead>
    <tbody>\${services || '<tr><td colspan="7" class="muted">no services registered</td></tr>'}</tbody></table>
    <h2>Instances <span class="muted">(leases of the first \${REGISTRY_SERVICES_SHOWN} services)</span></h2>
    <table id="registry-instances"><thead><tr><th>service</th><th>instance</th><th>address</th><th>zone</th><th class="num">weight</th>
    <th class="num">ttl</th><th class="num">left</th><th class="num">renewals</th><th>state</th></tr></thead>
    <tbody>\${instances}</tbody></table>\`;
}
async function poll() {
  try {
    const [status, listeners, pools, caches] = await Promise.all([api("/api/status"), api("/api/listeners"), api("/api/pools"), api("/api/caches")]);
    if (listeners.some((l) => l.protocol === "dns")) renderDns(await api("/api/dns"));
    if (status.registry) await renderRegistry();
    document.getElementById("status").textContent =
      "pid " + status.pid + " · up " + since(status.uptimeSeconds) + " · config " + (status.configFile || "(inline)") +
      " loaded " + status.configLoadedAt + " · reloads " + status.reloads;
    document.getElementById("error").textContent = "";
    renderListeners(listeners);
    renderCaches(caches);
    renderPools(pools);
  } catch (e) { document.getElementById("error").textContent = e.message; }
}
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
`;
