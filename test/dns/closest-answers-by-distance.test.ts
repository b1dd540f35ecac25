/**
 * `closest: true` (PowerDNS `pickclosest`, Route 53 geoproximity): the answer is the up
 * backend, or the region, nearest to the client by great-circle distance. The client is
 * placed by a MaxMind City database's location, or by its region's configured location;
 * backends by the listener's `locations`, else by the database.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { greatCircleKm } from "../../src/dns/great-circle.js";
import type { Runtime } from "../../src/runtime/runtime.js";
import { geoRecord, writeMmdb } from "../support/mmdb-writer.js";
import { tempDir } from "../support/temp-dir.js";
import { dig, portOf, startRuntime } from "./helpers.js";

const LONDON = { latitude: 51.5074, longitude: -0.1278 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };
const TOKYO = { latitude: 35.6762, longitude: 139.6503 };
const SINGAPORE = { latitude: 1.3521, longitude: 103.8198 };

const config = (database: string) => `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    geo_database: "${database}"
    regions:
      eu: { location: { latitude: 50.11, longitude: 8.68 } }
      us: { location: { latitude: 39.04, longitude: -77.49 } }
      ap: { location: { latitude: 1.35, longitude: 103.82 } }
      lab: { cidrs: ["10.9.0.0/16"], location: { latitude: -33.87, longitude: 151.21 } }
    locations:
      "192.0.2.1": { latitude: 50.11, longitude: 8.68 }
      "192.0.2.2": { latitude: 39.04, longitude: -77.49 }
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: www, type: A, ttl: 0, pool: web, closest: true }
          - { name: two, type: A, ttl: 0, pool: web, closest: true, answers: 2 }
          - name: api
            type: A
            ttl: 0
            closest: true
            geo: { eu: [api-eu], us: [api-us], ap: [api-ap], default: [api-us] }
log: { level: silent }
pools:
  web:
    backends:
      - { address: "192.0.2.1:80" }
      - { address: "192.0.2.2:80" }
      - { address: "192.0.2.3:80" }
  api-eu: { backends: [{ address: "198.18.0.1:80" }] }
  api-us: { backends: [{ address: "198.18.0.2:80" }] }
  api-ap: { backends: [{ address: "198.18.0.3:80" }] }
`;

describe("closest answers by distance", () => {
  const dir = tempDir("closest");
  const database = join(dir.path, "GeoLite2-City.mmdb");
  let runtime: Runtime;
  let port: number;
  const answer = async (name: string, subnet: string) => {
    const r = await dig(port, [name, "A", `+subnet=${subnet}`]);
    const scope = /CLIENT-SUBNET: \S+\/(\d+)/.exec(r.text)?.[1];
    return { hosts: r.answers.map((a) => a[4]), scope: Number(scope) };
  };

  before(async () => {
    writeFileSync(
      database,
      writeMmdb(
        [
          { network: "81.2.69.0/24", data: geoRecord("GB", "EU", LONDON) },
          { network: "198.51.100.0/24", data: geoRecord("US", "NA", NEW_YORK) },
          { network: "203.0.113.0/24", data: geoRecord("JP", "AS", TOKYO) },
          // A backend the database places (it has no `locations` entry).
          { network: "192.0.2.3/32", data: geoRecord("SG", "AS", SINGAPORE) },
          // A country without a location: the client is not placed.
          { network: "100.64.0.0/16", data: geoRecord("DE", "EU") },
        ],
        { databaseType: "GeoLite2-City" },
      ),
    );
    runtime = await startRuntime(config(database));
    port = portOf(runtime);
  });
  after(async () => {
    await runtime?.stop({ graceful: false });
    dir.cleanup();
  });

  it("measures great-circle distances", () => {
    // London to Paris is 343.5 km, London to New York 5,570 km.
    assert.equal(Math.round(greatCircleKm(LONDON, { latitude: 48.8566, longitude: 2.3522 })), 344);
    assert.equal(Math.round(greatCircleKm(LONDON, NEW_YORK) / 10), 557);
    assert.equal(greatCircleKm(TOKYO, TOKYO), 0);
  });

  it("answers the backend nearest to the client's database location", async () => {
    assert.deepEqual(await answer("www.example.test", "81.2.69.0/24"), {
      hosts: ["192.0.2.1"],
      scope: 24,
    });
    assert.deepEqual((await answer("www.example.test", "198.51.100.0/24")).hosts, ["192.0.2.2"]);
    // Tokyo: Singapore (placed by the database) is nearer than Frankfurt and Virginia.
    assert.deepEqual((await answer("www.example.test", "203.0.113.0/24")).hosts, ["192.0.2.3"]);
    assert.deepEqual((await answer("two.example.test", "203.0.113.0/24")).hosts, [
      "192.0.2.3",
      "192.0.2.1",
    ]);
  });

  it("skips a backend that is down: the next nearest answers", async () => {
    const web = runtime.pools.get("web")!;
    web.setHealth("192.0.2.1:80", "down", "test");
    try {
      assert.deepEqual((await answer("www.example.test", "81.2.69.0/24")).hosts, ["192.0.2.2"]);
    } finally {
      web.setHealth("192.0.2.1:80", "up", "test");
    }
  });

  it("answers the nearest region's pools, failing over to the next nearest", async () => {
    assert.deepEqual((await answer("api.example.test", "81.2.69.0/24")).hosts, ["198.18.0.1"]);
    assert.deepEqual((await answer("api.example.test", "203.0.113.0/24")).hosts, ["198.18.0.3"]);
    // A client placed by its CIDR region's location (Sydney): Singapore is nearest.
    assert.deepEqual(await answer("api.example.test", "10.9.3.0/24"), {
      hosts: ["198.18.0.3"],
      scope: 16,
    });
    const eu = runtime.pools.get("api-eu")!;
    eu.setHealth("198.18.0.1:80", "down", "test");
    try {
      // From London, Virginia is nearer than Singapore.
      assert.deepEqual((await answer("api.example.test", "81.2.69.0/24")).hosts, ["198.18.0.2"]);
    } finally {
      eu.setHealth("198.18.0.1:80", "up", "test");
    }
  });

  it("answers as without closest when the client cannot be placed", async () => {
    // No location: `default` for geo, the pool's own order for a pool.
    assert.deepEqual((await answer("api.example.test", "100.64.1.0/24")).hosts, ["198.18.0.2"]);
    const hosts = (await answer("www.example.test", "100.64.1.0/24")).hosts;
    assert.equal(hosts.length, 1);
  });

  it("shows each region's closest answer in the zone view", () => {
    const zones = runtime.listeners.get("dns")!.zones!() as {
      records: { name: string; answers?: Record<string, { hosts: string[] }> }[];
    }[];
    const api = zones[0].records.find((r) => r.name === "api.example.test.")!;
    assert.deepEqual(api.answers!.us.hosts, ["198.18.0.2"]);
    assert.deepEqual(api.answers!.ap.hosts, ["198.18.0.3"]);
    assert.deepEqual(api.answers!.lab.hosts, ["198.18.0.3"]);
  });

  it("names a closest record that cannot know where clients or backends are", () => {
    const bare = `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    regions: { eu: ["10.0.0.0/8"], us: { cidrs: ["10.1.0.0/16"], location: { latitude: 39, longitude: -77 } } }
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: www, type: A, pool: web, closest: true }
          - { name: api, type: A, geo: { eu: [web], us: [web] }, closest: true }
          - { name: fix, type: A, values: ["192.0.2.9"], closest: true }
pools:
  web: { backends: [{ address: "192.0.2.1:80" }] }
`;
    let message = "";
    try {
      parseConfigText(bare, "dns.yaml");
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, /records\[0\]\.closest.*where the pool's backends are/);
    assert.match(message, /records\[1\]\.geo\.eu.*region "eu" has no location/);
    assert.match(message, /records\[2\]\.closest.*fixed `values` have none/);
    assert.throws(
      () => parseConfigText(bare.replace(/latitude: 39/, "latitude: 91"), "dns.yaml"),
      /regions\.us.*latitude/s,
    );
  });
});
