/** A dns listener's config mistakes are named with their path and what would be valid. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";

function errorOf(records: string, extra = ""): string {
  const yaml = `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    regions: { eu: ["10.0.0.0/8"] }
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
${records}
${extra}
pools:
  web: { backends: [{ address: "192.0.2.1:80" }] }
`;
  try {
    parseConfigText(yaml, "dns.yaml");
  } catch (error) {
    return (error as Error).message;
  }
  return "";
}

describe("dns config mistakes are named", () => {
  it("an unknown pool, in pool, geo and when_all_down", () => {
    assert.match(
      errorOf(`          - { name: www, type: A, pool: nope }`),
      /zones\[0\]\.records\[0\]\.pool.*unknown pool "nope"/s,
    );
    assert.match(
      errorOf(`          - { name: www, type: A, geo: { eu: [web, nope] } }`),
      /geo\.eu\[1\].*unknown pool "nope"/s,
    );
    assert.match(
      errorOf(`          - { name: www, type: A, pool: web, when_all_down: { pool: gone } }`),
      /when_all_down\.pool.*unknown pool "gone"/s,
    );
  });

  it("an unknown region", () => {
    assert.match(
      errorOf(`          - { name: www, type: A, geo: { asia: [web] } }`),
      /unknown region "asia"; defined regions: eu/,
    );
  });

  it("a record outside its zone, a CNAME beside other data, two sets of one type", () => {
    assert.match(
      errorOf(`          - { name: www.example.org., type: A, values: ["192.0.2.1"] }`),
      /outside zone "example.test"/,
    );
    assert.match(
      errorOf(
        `          - { name: www, type: A, values: ["192.0.2.1"] }\n          - { name: www, type: CNAME, value: x.example.test }`,
      ),
      /mixes a CNAME with other records/,
    );
    assert.match(
      errorOf(
        `          - { name: www, type: A, values: ["192.0.2.1"] }\n          - { name: www, type: A, values: ["192.0.2.2"] }`,
      ),
      /already has A records/,
    );
  });

  it("an address record needs exactly one source, and addresses of its family", () => {
    assert.match(
      errorOf(`          - { name: www, type: A }`),
      /exactly one of `values`, `pool` or `geo`/,
    );
    assert.match(
      errorOf(`          - { name: www, type: A, values: ["2001:db8::1"] }`),
      /expected an IPv4 address/,
    );
    assert.match(
      errorOf(`          - { name: "bad name!", type: A, values: ["192.0.2.1"] }`),
      /expected "@", a name inside the zone/,
    );
  });
});
