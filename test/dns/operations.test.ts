/**
 * Operating a dns listener: response rate limiting per client subnet slips truncated
 * answers and drops the rest (TCP stays unlimited); the admin API and `ballast ctl dns` list
 * the zones and what each name answers now per region; metrics count answers per zone and
 * RCODE, per region and per record; a reload changes zones in place on the same port.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import { parseConfigText } from "../../src/config/load.js";
import { cliPath } from "../config/cli.js";
import { adminCall, type Stack, startStack } from "../control/helpers.js";
import { dig } from "./helpers.js";

const zoneYaml = (extra: string) => `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    rate_limit: { responses_per_second: 5, slip: 2 }
    regions:
      east: ["10.1.0.0/16"]
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: www, type: A, geo: { east: [east], default: [other] } }
          - { name: txt, type: TXT, values: ["hello"] }
${extra}
pools:
  east:
    backends: [{ address: "192.0.2.1:80" }]
  other:
    backends: [{ address: "192.0.2.2:80" }]
admin:
  bind: "127.0.0.1:0"
log: { level: silent }
`;

describe("dns operations", () => {
  let stack: Stack;
  let port: number;
  before(async () => {
    stack = await startStack(zoneYaml(""));
    port = stack.runtime.listeners.get("dns")!.address().port;
  });
  after(() => stack.stop());

  it("rate limits UDP answers per client subnet: one in `slip` truncated, the rest dropped", async () => {
    const socket = createSocket("udp4");
    const replies: Buffer[] = [];
    socket.on("message", (message) => replies.push(message));
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const query = dnsPacket.encode({
      type: "query",
      id: 1,
      questions: [{ type: "TXT", name: "txt.example.test" }],
    });
    for (let i = 0; i < 60; i++) socket.send(query, port, "127.0.0.1");
    for (let i = 0; i < 50 && replies.length < 30; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    socket.close();
    const truncated = replies.filter((r) => (r.readUInt16BE(2) & 0x0200) !== 0);
    const full = replies.length - truncated.length;
    // A burst of one second's worth (5) plus the token taken first; the refill during the
    // send is small. Of the ~54 over the rate, half slip.
    assert.ok(full <= 12, `full answers: ${full}`);
    assert.ok(truncated.length >= 15 && truncated.length <= 30, `truncated: ${truncated.length}`);
    for (const t of truncated)
      assert.equal(t.readUInt16BE(6), 0, "a slipped answer holds no records");
    const stats = stack.runtime.listeners.get("dns")!.stats();
    assert.ok(stats.rateLimitedDropped >= 15, JSON.stringify(stats));
    // TCP answers cannot be spoofed: never limited.
    const tcp = await dig(port, ["txt.example.test", "TXT", "+tcp"]);
    assert.equal(tcp.status, "NOERROR");
    assert.equal(tcp.answers.length, 1);
  });

  it("lists zones and current answers per region in the admin API and ballast ctl dns", async () => {
    const { status, body } = await adminCall(stack, "GET", "/api/dns");
    assert.equal(status, 200);
    const www = body[0].zones[0].records.find(
      (r: { name: string }) => r.name === "www.example.test.",
    );
    assert.deepEqual(www.answers.east.hosts, ["192.0.2.1"]);
    assert.deepEqual(www.answers.default.hosts, ["192.0.2.2"]);
    const txt = body[0].zones[0].records.find((r: { type: string }) => r.type === "TXT");
    assert.deepEqual(txt.values, [["hello"]]);
    // Not spawnSync: the admin API answers from this very process.
    const ctl = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [cliPath, "ctl", "--admin", stack.adminUrl, "dns"],
        {
          timeout: 20_000,
          env: { PATH: process.env.PATH ?? "", BALLAST_ADMIN_TOKEN: stack.token ?? "" },
        },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve({ stdout, stderr }),
      );
    });
    assert.match(ctl.stdout, /www\.example\.test\.\s+A\s+300\s+east\s+192\.0\.2\.1 \[east\]/);
    assert.match(ctl.stdout, /default\s+192\.0\.2\.2 \[other\]/);
  });

  it("exports answers per zone and RCODE, per region and per record as metrics", async () => {
    await dig(port, ["www.example.test", "A", "+subnet=10.1.0.0/24", "+tcp"]);
    await dig(port, ["missing.example.test", "A", "+tcp"]);
    const response = await fetch(`${stack.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${stack.token}` },
    });
    const text = await response.text();
    assert.match(
      text,
      /ballast_dns_answers_total\{listener="dns",zone="example.test",rcode="NXDOMAIN"\} [1-9]/,
    );
    assert.match(text, /ballast_dns_region_answers_total\{listener="dns",region="east"\} [1-9]/);
    assert.match(
      text,
      /ballast_dns_record_answers_total\{listener="dns",zone="example.test",name="www.example.test.",type="A"\} [1-9]/,
    );
    assert.match(text, /ballast_listener_dns_queries_total\{listener="dns",protocol="dns"\} [1-9]/);
  });

  it("reloads zones in place, on the same port", async () => {
    const before = await dig(port, ["new.example.test", "A", "+tcp"]);
    assert.equal(before.status, "NXDOMAIN");
    const listener = stack.runtime.listeners.get("dns");
    const next = zoneYaml(`          - { name: new, type: A, values: ["192.0.2.99"] }`);
    const result = await stack.runtime.reload(parseConfigText(next, "next.yaml"));
    assert.ok(result.changed);
    assert.equal(
      stack.runtime.listeners.get("dns"),
      listener,
      "the same listener, updated in place",
    );
    assert.equal(listener!.address().port, port);
    const after = await dig(port, ["new.example.test", "A", "+tcp"]);
    assert.deepEqual(
      after.answers.map((a) => a[4]),
      ["192.0.2.99"],
    );
    // Counts per record outlive the reload's new record sets.
    const records = listener!.answerCounts!().records ?? [];
    assert.ok(
      records.some((r) => r.name === "www.example.test." && r.answers >= 1),
      JSON.stringify(records),
    );
    assert.ok(records.some((r) => r.name === "new.example.test." && r.answers === 1));
  });
});
