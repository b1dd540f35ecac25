/**
 * The authoritative server as `dig` sees it: every record type, NXDOMAIN and NODATA with the
 * SOA, REFUSED outside the zones, the AA flag, the client's spelling kept, EDNS sizes and TC
 * with the retry over TCP.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Runtime } from "../../src/runtime/runtime.js";
import { dig, portOf, startRuntime } from "./helpers.js";

const CONFIG = `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    zones:
      - origin: example.test
        ttl: 120
        ns: [ns1.example.test]
        soa: { rname: hostmaster.example.test, serial: 2026120101, minimum: 30 }
        records:
          - { name: ns1, type: A, values: ["192.0.2.53"] }
          - { name: www, type: A, values: ["192.0.2.1", "192.0.2.2"], ttl: 60 }
          - { name: www, type: AAAA, values: ["2001:db8::1"] }
          - { name: alias, type: CNAME, value: www.example.test }
          - { name: outside, type: CNAME, value: www.elsewhere.test }
          - { name: "@", type: MX, values: [{ preference: 10, exchange: mail.example.test }] }
          - { name: "@", type: TXT, values: ["v=spf1 -all", "second string"] }
          - { name: _http._tcp, type: SRV, values: [{ priority: 1, weight: 5, port: 8080, target: www.example.test }] }
          - { name: deep.branch, type: A, values: ["192.0.2.9"] }
          - { name: "*.wild", type: A, values: ["192.0.2.77"] }
          - { name: many, type: A, values: [${Array.from({ length: 60 }, (_, i) => `"198.51.100.${i + 1}"`).join(", ")}] }
          - { name: sub, type: NS, values: [ns.sub.example.test] }
pools: {}
`;

describe("authoritative answers", () => {
  let runtime: Runtime;
  let port: number;
  before(async () => {
    runtime = await startRuntime(CONFIG);
    port = portOf(runtime);
  });
  after(() => runtime.stop({ graceful: false }));

  it("answers A with AA set and the configured TTL", async () => {
    const r = await dig(port, ["www.example.test", "A"]);
    assert.equal(r.status, "NOERROR");
    assert.ok(r.flags.includes("aa"), r.text);
    assert.deepEqual(r.answers.map((a) => a[4]).sort(), ["192.0.2.1", "192.0.2.2"]);
    assert.equal(r.answers[0][1], "60");
  });

  it("answers AAAA, MX, TXT, SRV, NS and SOA", async () => {
    assert.deepEqual(
      (await dig(port, ["www.example.test", "AAAA"])).answers.map((a) => a[4]),
      ["2001:db8::1"],
    );
    const mx = await dig(port, ["example.test", "MX"]);
    assert.deepEqual(
      mx.answers.map((a) => a.slice(3)),
      [["MX", "10", "mail.example.test."]],
    );
    const txt = await dig(port, ["example.test", "TXT"]);
    assert.ok(txt.text.includes('"v=spf1 -all"') && txt.text.includes('"second string"'), txt.text);
    const srv = await dig(port, ["_http._tcp.example.test", "SRV"]);
    assert.deepEqual(
      srv.answers.map((a) => a.slice(3)),
      [["SRV", "1", "5", "8080", "www.example.test."]],
    );
    const ns = await dig(port, ["example.test", "NS"]);
    assert.deepEqual(
      ns.answers.map((a) => a[4]),
      ["ns1.example.test."],
    );
    const soa = await dig(port, ["example.test", "SOA"]);
    assert.deepEqual(soa.answers[0].slice(3, 7), [
      "SOA",
      "ns1.example.test.",
      "hostmaster.example.test.",
      "2026120101",
    ]);
  });

  it("follows a CNAME inside the zone and stops at one outside it", async () => {
    const r = await dig(port, ["alias.example.test", "A"]);
    assert.deepEqual(
      r.answers.map((a) => a[3]),
      ["CNAME", "A", "A"],
    );
    const out = await dig(port, ["outside.example.test", "A"]);
    assert.equal(out.status, "NOERROR");
    assert.deepEqual(
      out.answers.map((a) => a[3]),
      ["CNAME"],
    );
  });

  it("says NXDOMAIN for a missing name and NODATA for a missing type, with the SOA", async () => {
    const nx = await dig(port, ["nothing.example.test", "A"]);
    assert.equal(nx.status, "NXDOMAIN");
    assert.ok(nx.flags.includes("aa"));
    assert.equal(nx.authorities[0][3], "SOA");
    assert.equal(nx.authorities[0][1], "30", "the negative TTL is the SOA minimum");
    const nodata = await dig(port, ["www.example.test", "MX"]);
    assert.equal(nodata.status, "NOERROR");
    assert.equal(nodata.answers.length, 0);
    assert.equal(nodata.authorities[0][3], "SOA");
    const ent = await dig(port, ["branch.example.test", "A"]);
    assert.equal(ent.status, "NOERROR", "an empty non-terminal exists (RFC 8020)");
  });

  it("synthesizes wildcard answers under the closest encloser", async () => {
    const r = await dig(port, ["anything.wild.example.test", "A"]);
    assert.deepEqual(
      r.answers.map((a) => [a[0], a[4]]),
      [["anything.wild.example.test.", "192.0.2.77"]],
    );
  });

  it("refers below a zone cut without AA", async () => {
    const r = await dig(port, ["host.sub.example.test", "A"]);
    assert.equal(r.status, "NOERROR");
    assert.ok(!r.flags.includes("aa"), r.text);
    assert.deepEqual(
      r.authorities.map((a) => [a[3], a[4]]),
      [["NS", "ns.sub.example.test."]],
    );
  });

  it("refuses names outside its zones, and AXFR", async () => {
    const r = await dig(port, ["www.example.org", "A"]);
    assert.equal(r.status, "REFUSED");
    assert.ok(!r.flags.includes("aa"));
    const axfr = await dig(port, ["example.test", "AXFR", "+notcp"]);
    assert.ok(!axfr.text.includes("SOA\tns1"), axfr.text);
  });

  it("keeps the client's spelling of the name", async () => {
    const r = await dig(port, ["WwW.ExAmPlE.TeSt", "A"]);
    assert.equal(r.answers[0][0], "WwW.ExAmPlE.TeSt.");
    assert.ok(r.text.includes(";WwW.ExAmPlE.TeSt."), r.text);
  });

  it("sets TC when the answer exceeds the EDNS size, and the TCP retry gets it all", async () => {
    const truncated = await dig(port, ["many.example.test", "A", "+bufsize=512", "+ignore"]);
    assert.ok(truncated.flags.includes("tc"), truncated.text);
    assert.equal(truncated.answers.length, 0);
    const retried = await dig(port, ["many.example.test", "A", "+bufsize=512"]);
    assert.equal(retried.answers.length, 60, retried.text);
    const big = await dig(port, ["many.example.test", "A", "+bufsize=1232", "+ignore"]);
    assert.ok(!big.flags.includes("tc"), "60 A records fit in 1232 bytes with name compression");
    assert.equal(big.answers.length, 60);
    const noEdns = await dig(port, ["many.example.test", "A", "+noedns", "+ignore"]);
    assert.ok(noEdns.flags.includes("tc"), "without EDNS the limit is 512 bytes");
  });

  it("answers EDNS with its own payload size and BADVERS for version 1", async () => {
    const r = await dig(port, ["www.example.test", "A", "+bufsize=4096"]);
    assert.match(r.text, /EDNS: version: 0, flags:; udp: 1232/);
    const bad = await dig(port, ["www.example.test", "A", "+edns=1", "+noednsneg"]);
    assert.equal(bad.status, "BADVERS", bad.text);
  });

  it("answers over TCP", async () => {
    const r = await dig(port, ["www.example.test", "A", "+tcp"]);
    assert.equal(r.status, "NOERROR");
    assert.equal(r.answers.length, 2);
  });
});
