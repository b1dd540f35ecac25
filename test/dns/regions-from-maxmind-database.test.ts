/**
 * Regions from a MaxMind-format database the user supplies: a region lists countries and
 * continents (and CIDR blocks, which win); the client's ECS subnet (else the resolver) is
 * looked up, and the answer's ECS scope is the database network's length. The file is
 * checked at load (a missing or corrupt one is a clear config error) and read again on
 * reload. The tests write GeoLite2-shaped files and check them with libmaxminddb's
 * `mmdblookup` first, so the reader under test is not the only judge of the files.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import type { Runtime } from "../../src/runtime/runtime.js";
import { geoRecord, type MmdbNetwork, writeMmdb } from "../support/mmdb-writer.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { dig, portOf, startRuntime } from "./helpers.js";

const NETWORKS: MmdbNetwork[] = [
  { network: "81.2.69.0/24", data: geoRecord("GB", "EU") },
  { network: "81.0.0.0/8", data: geoRecord("DE", "EU") },
  { network: "203.0.113.0/24", data: geoRecord("JP", "AS") },
  { network: "2001:db8:5::/48", data: geoRecord("JP", "AS") },
  { network: "198.51.100.0/24", data: geoRecord("US", "NA") },
];

const config = (database: string, regions?: string) => `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    geo_database: "${database}"
    regions:
${
  regions ??
  `      office: ["81.2.69.128/25", "10.5.9.0/24"]
      uk: { countries: [gb] }
      europe: { continents: [EU] }
      asia: { countries: [JP], cidrs: ["10.5.0.0/16"] }`
}
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - name: www
            type: A
            ttl: 0
            geo:
              office: [office]
              uk: [uk, europe]
              europe: [europe]
              asia: [asia]
              default: [other]
log: { level: silent }
pools:
  office: { backends: [{ address: "192.0.2.1:80" }] }
  uk: { backends: [{ address: "192.0.2.2:80" }] }
  europe: { backends: [{ address: "192.0.2.3:80" }] }
  asia: { backends: [{ address: "192.0.2.4:80" }] }
  other: { backends: [{ address: "192.0.2.5:80" }] }
`;

/** `mmdblookup`'s value at `path` for `ip` ("GB"), or "" when the database has no entry. */
function mmdblookup(file: string, ip: string, path: string[]): string {
  const out = execFileSync(requireProgram("mmdblookup"), ["--file", file, "--ip", ip, ...path], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return /"([^"]*)" <utf8_string>/.exec(out)?.[1] ?? "";
}

function errorOf(yaml: string): string {
  try {
    parseConfigText(yaml, "dns.yaml");
  } catch (error) {
    return (error as Error).message;
  }
  return "";
}

describe("regions from a MaxMind database", () => {
  const dir = tempDir("mmdb");
  const database = join(dir.path, "GeoLite2-Country.mmdb");
  let runtime: Runtime;
  let port: number;
  const answer = async (subnet: string) => {
    const r = await dig(port, ["www.example.test", "A", `+subnet=${subnet}`]);
    const scope = /CLIENT-SUBNET: \S+\/(\d+)/.exec(r.text)?.[1];
    return { hosts: r.answers.map((a) => a[4]), scope: Number(scope) };
  };

  before(async () => {
    writeFileSync(database, writeMmdb(NETWORKS, { databaseType: "GeoLite2-Country" }));
    runtime = await startRuntime(config(database));
    port = portOf(runtime);
  });
  after(async () => {
    await runtime?.stop({ graceful: false });
    dir.cleanup();
  });

  it("writes a database that MaxMind's own reader reads", () => {
    assert.equal(mmdblookup(database, "81.2.69.142", ["country", "iso_code"]), "GB");
    assert.equal(mmdblookup(database, "81.9.9.9", ["country", "iso_code"]), "DE");
    assert.equal(mmdblookup(database, "2001:db8:5::1", ["continent", "code"]), "AS");
  });

  it("places a client by its country, else its continent, with the network's length as scope", async () => {
    assert.deepEqual(await answer("81.9.0.0/24"), { hosts: ["192.0.2.3"], scope: 13 });
    assert.deepEqual((await answer("203.0.113.0/24")).hosts, ["192.0.2.4"]);
    assert.deepEqual((await answer("2001:db8:5:1::/64")).hosts, ["192.0.2.4"]);
    assert.deepEqual(await answer("198.51.100.0/24"), { hosts: ["192.0.2.5"], scope: 24 });
  });

  it("lets CIDR blocks win, and narrows the scope to the client's subnet around them", async () => {
    assert.deepEqual(await answer("81.2.69.200/32"), { hosts: ["192.0.2.1"], scope: 25 });
    assert.deepEqual((await answer("10.5.1.0/24")).hosts, ["192.0.2.4"]);
    // asia's 10.5.0.0/16 holds the office's 10.5.9.0/24: asia's answer holds for the /20 asked.
    assert.deepEqual(await answer("10.5.16.0/20"), { hosts: ["192.0.2.4"], scope: 20 });
    assert.deepEqual(await answer("10.5.9.0/24"), { hosts: ["192.0.2.1"], scope: 24 });
    // GB's /24 holds the office's /25: a GB answer holds only for the client's own subnet.
    assert.deepEqual(await answer("81.2.69.0/26"), { hosts: ["192.0.2.2"], scope: 26 });
  });

  it("answers a client the database does not know from default", async () => {
    assert.deepEqual((await answer("192.0.2.0/24")).hosts, ["192.0.2.5"]);
  });

  it("reads the database again on reload, in place", async () => {
    const listener = runtime.listeners.get("dns");
    // The same config text, a new file: 203.0.113.0/24 moves from Japan to Germany.
    writeFileSync(
      database,
      writeMmdb(
        NETWORKS.map((n) =>
          n.network === "203.0.113.0/24" ? { ...n, data: geoRecord("DE", "EU") } : n,
        ),
        { databaseType: "GeoLite2-Country" },
      ),
    );
    assert.equal(mmdblookup(database, "203.0.113.9", ["country", "iso_code"]), "DE");
    const result = await runtime.reload(parseConfigText(config(database), "next.yaml"));
    assert.ok(result.changed, "a new file is a changed config");
    assert.equal(runtime.listeners.get("dns"), listener, "the same listener, updated in place");
    assert.deepEqual((await answer("203.0.113.0/24")).hosts, ["192.0.2.3"]);
  });

  it("names a missing, corrupt or cut-short file at load", () => {
    assert.match(
      errorOf(config(join(dir.path, "missing.mmdb"))),
      /geo_database.*cannot read .*missing\.mmdb: ENOENT/s,
    );
    const garbage = join(dir.path, "garbage.mmdb");
    writeFileSync(garbage, Buffer.from("this is not a database at all\n".repeat(100)));
    assert.match(errorOf(config(garbage)), /garbage\.mmdb is not a MaxMind DB file/);
    const whole = writeMmdb(NETWORKS, { databaseType: "GeoLite2-Country" });
    // The metadata survives at the end, the tree and data before it are cut.
    const cut = join(dir.path, "cut.mmdb");
    writeFileSync(cut, whole.subarray(whole.length - 400));
    assert.match(errorOf(config(cut)), /cut\.mmdb is (cut short|damaged|not a MaxMind DB file)/);
    assert.match(errorOf(config(dir.path)), /geo_database.*not a regular file/s);
  });

  it("names countries without a database, bad codes, and a country in two regions", () => {
    const without = config(database).replace(/ {4}geo_database: .*\n/, "");
    assert.match(
      errorOf(without),
      /regions\.uk\.countries.*set geo_database to a GeoLite2 Country or City \.mmdb file/s,
    );
    assert.match(
      errorOf(config(database, `      uk: { countries: [GBR] }\n      europe: [10.0.0.0/8]`)),
      /regions\.uk.*ISO 3166-1 country code/s,
    );
    assert.match(
      errorOf(config(database, `      uk: { continents: [XX] }\n      europe: [10.0.0.0/8]`)),
      /regions\.uk.*continent code: AF, AN, AS, EU, NA, OC, SA/s,
    );
    assert.match(
      errorOf(
        config(
          database,
          `      uk: { countries: [GB] }\n      europe: { countries: [DE, gb] }\n      office: [10.0.0.0/8]\n      asia: [10.1.0.0/16]`,
        ),
      ),
      /regions\.europe\.countries\[1\].*"GB" is already in region "uk"/s,
    );
  });
});
