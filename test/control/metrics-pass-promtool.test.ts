/**
 * /metrics passes `promtool check metrics` (Prometheus' own linter) on the output of a
 * running balancer with http, tcp, udp and dns listeners, checked pools and some traffic, so every
 * family has samples; and what only grows is a counter, what goes up and down a gauge.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { LISTENER_STAT_METRICS } from "../../src/admin/listener-metrics.js";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import { adminCall, type Stack, startBackends, startStack, type TestBackend } from "./helpers.js";

const TOKEN = "metrics-test-token";

let stack: Stack;
let backends: TestBackend[];
const udpEcho = createSocket("udp4");

before(async () => {
  backends = await startBackends(2);
  udpEcho.on("message", (message, remote) => udpEcho.send(message, remote.port, remote.address));
  await new Promise<void>((resolve) => udpEcho.bind(0, "127.0.0.1", resolve));
  const yaml = `
listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false }
  - { name: raw, protocol: tcp, bind: "127.0.0.1:0", pool: api }
  - { name: dgram, protocol: udp, bind: "127.0.0.1:0", pool: echo }
  - name: names
    protocol: dns
    bind: "127.0.0.1:0"
    regions: { here: ["127.0.0.0/8"] }
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records: [{ name: www, type: A, geo: { here: [echo] } }]
pools:
  api:
    health_check: { type: http, path: /, interval: 100ms, timeout: 5s }
    backends:
      - { name: b1, address: "${backends[0].address}" }
      - { name: b2, address: "${backends[1].address}" }
  echo:
    backends: [{ name: e1, address: "127.0.0.1:${udpEcho.address().port}" }]
admin: { bind: "127.0.0.1:0", token: "${TOKEN}" }
log: { level: silent }
`;
  stack = await startStack(yaml, { token: TOKEN });
  // Passed, not just run: on a loaded machine a first check may time out (L7TOUT).
  await waitFor("a passed check of every api backend", () =>
    stack.runtime.healthChecks("api").every((check) => check.lastStatus === "L7OK"),
  );
  // Traffic through every listener, and a health transition, so every family has samples.
  for (let i = 0; i < 4; i++) await (await fetch(`${stack.webUrl}/`)).text();
  const raw = stack.runtime.listeners.get("raw")!.address();
  await new Promise<void>((resolve, reject) => {
    const socket = connect(raw.port, "127.0.0.1", () => {
      socket.end("GET / HTTP/1.0\r\n\r\n");
    });
    socket.on("error", reject);
    socket.resume();
    socket.on("close", () => resolve());
  });
  const dgram = stack.runtime.listeners.get("dgram")!.address();
  const client = createSocket("udp4");
  await new Promise<void>((resolve) => {
    client.once("message", () => resolve());
    client.send("ping", dgram.port, "127.0.0.1");
  });
  await new Promise<void>((resolve) => {
    client.once("message", () => resolve());
    const query = Buffer.from(
      "00010100000100000000000003777777076578616d706c6504746573740000010001",
      "hex",
    );
    client.send(query, stack.runtime.listeners.get("names")!.address().port, "127.0.0.1");
  });
  client.close();
  stack.runtime.pools.get("api")!.setHealth("b2", "down", "test");
});

after(async () => {
  await stack?.stop();
  await Promise.all(backends.map((b) => b.close()));
  udpEcho.close();
});

async function scrape(): Promise<string> {
  const { status, body } = await adminCall(stack, "GET", "/metrics", undefined, TOKEN);
  assert.equal(status, 200);
  return body as string;
}

test("/metrics passes promtool check metrics", async () => {
  const promtool = requireProgram("promtool");
  const text = await scrape();
  const result = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
});

test("families named *_total are counters; listener counters and gauges are apart", async () => {
  const text = await scrape();
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1], match[2]);
  for (const [name, type] of types) {
    if (name.endsWith("_total")) assert.equal(type, "counter", `${name} is a ${type}`);
  }
  assert.equal(types.get("ballast_listener_requests_total"), "counter");
  assert.equal(types.get("ballast_listener_in_flight_requests"), "gauge");
  assert.equal(types.get("ballast_listener_accepted_connections_total"), "counter");
  assert.equal(types.get("ballast_listener_open_connections"), "gauge");
  assert.equal(types.get("ballast_listener_datagrams_in_total"), "counter");
  assert.equal(types.get("ballast_config_reloads_total"), "counter");
  assert.equal(types.has("ballast_listener_stat"), false, "the mixed family is gone");
  assert.match(text, /ballast_listener_requests_total\{listener="web",protocol="http"\} 4/);
  assert.match(
    text,
    /ballast_listener_accepted_connections_total\{listener="raw",protocol="tcp"\} 1/,
  );
  assert.match(text, /ballast_listener_datagrams_in_total\{listener="dgram",protocol="udp"\} 1/);
  assert.match(text, /ballast_process_nodejs_active_handles\{/);
  assert.equal(types.get("ballast_backend_check_status"), "gauge");
  assert.equal(types.get("ballast_backend_check_duration_seconds"), "gauge");
  assert.equal(types.get("ballast_backend_downtime_seconds_total"), "counter");
  assert.equal(types.get("ballast_backend_connect_errors_total"), "counter");
  assert.match(text, /ballast_backend_check_status\{pool="api",backend="b1",status="L7OK"\} 1/);
  assert.match(text, /ballast_backend_checks_total\{pool="api",backend="b1"\} [1-9]/);
});

test("every stat a listener reports has a metric family", () => {
  for (const listener of stack.runtime.listeners.values()) {
    for (const stat of Object.keys(listener.stats())) {
      assert.ok(
        LISTENER_STAT_METRICS[stat] !== undefined,
        `${listener.protocol} stat "${stat}" is not in LISTENER_STAT_METRICS`,
      );
    }
  }
});
