/**
 * Hostile bytes: random packets, truncated real queries, answers sent as queries, bad EDNS
 * and bad client subnets. Each gets FORMERR (or is dropped when its header cannot be
 * answered), and the server keeps answering real queries over UDP and TCP.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import { parseConfigText } from "../../src/config/load.js";
import { RegionTable } from "../../src/dns/regions.js";
import { Responder } from "../../src/dns/responder.js";
import { ZoneTable } from "../../src/dns/zone-table.js";
import type { Runtime } from "../../src/runtime/runtime.js";
import { dig, portOf, startRuntime } from "./helpers.js";

const CONFIG = `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: www, type: A, values: ["192.0.2.1"] }
pools: {}
`;

/** A seeded generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const realQuery = dnsPacket.encode({
  type: "query",
  id: 7,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: "A", name: "www.example.test" }],
  additionals: [
    {
      type: "OPT",
      name: ".",
      udpPayloadSize: 4096,
      options: [{ code: "CLIENT_SUBNET", ip: "10.1.2.0", sourcePrefixLength: 24 }],
    } as never,
  ],
});

function rcodeOf(message: Buffer): number {
  return message.readUInt16BE(2) & 0xf;
}

describe("malformed packets never crash the server", () => {
  const config = parseConfigText(CONFIG, "test.yaml");
  const listener = config.listeners[0];
  assert.ok(listener.protocol === "dns");
  const responder = new Responder({
    zones: new ZoneTable(listener.zones),
    regions: new RegionTable({}),
    pools: new Map(),
    maxUdpPayload: 1232,
  });

  it("answers every prefix of a real query with FORMERR or drops it", () => {
    for (let length = 0; length < realQuery.length; length++) {
      const reply = responder.respond(realQuery.subarray(0, length), "127.0.0.1", false);
      if (length < 12) assert.equal(reply.message, undefined, `length ${length}`);
      else assert.equal(rcodeOf(reply.message!), 1, `length ${length}`);
    }
    assert.equal(rcodeOf(responder.respond(realQuery, "127.0.0.1", false).message!), 0);
  });

  it("survives 20,000 random and mutated packets", () => {
    const random = seeded(12);
    for (let i = 0; i < 20_000; i++) {
      let packet: Buffer;
      if (i % 2 === 0) {
        packet = Buffer.alloc(Math.floor(random() * 600));
        for (let k = 0; k < packet.length; k++) packet[k] = Math.floor(random() * 256);
      } else {
        packet = Buffer.from(realQuery);
        for (let flips = 1 + Math.floor(random() * 6); flips > 0; flips--) {
          packet[Math.floor(random() * packet.length)] = Math.floor(random() * 256);
        }
      }
      const reply = responder.respond(packet, "127.0.0.1", i % 3 === 0);
      if (reply.message !== undefined) {
        assert.ok(reply.message.length <= (i % 3 === 0 ? 65_535 : 1232));
        assert.equal(reply.message.readUInt16BE(0), packet.readUInt16BE(0), "the id is echoed");
        assert.ok((reply.message.readUInt16BE(2) & 0x8000) !== 0, "an answer has QR set");
      }
    }
  });

  it("drops answers sent as queries (no reflection loops)", () => {
    const answer = Buffer.from(realQuery);
    answer.writeUInt16BE(answer.readUInt16BE(2) | 0x8000, 2);
    assert.equal(responder.respond(answer, "127.0.0.1", false).message, undefined);
  });

  it("answers FORMERR to a bad client subnet, two OPT records and two questions", () => {
    const badSubnet = dnsPacket.encode({
      type: "query",
      id: 9,
      questions: [{ type: "A", name: "www.example.test" }],
      // Source prefix 24 with four address bytes: longer than the prefix needs.
      additionals: [
        {
          type: "OPT",
          name: ".",
          options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 10, 1, 2, 3]) }],
        } as never,
      ],
    });
    assert.equal(rcodeOf(responder.respond(badSubnet, "127.0.0.1", false).message!), 1);
    const twoOpt = dnsPacket.encode({
      type: "query",
      id: 9,
      questions: [{ type: "A", name: "www.example.test" }],
      additionals: [
        { type: "OPT", name: ".", options: [] } as never,
        { type: "OPT", name: ".", options: [] } as never,
      ],
    });
    assert.equal(rcodeOf(responder.respond(twoOpt, "127.0.0.1", false).message!), 1);
    const twoQuestions = dnsPacket.encode({
      type: "query",
      id: 9,
      questions: [
        { type: "A", name: "www.example.test" },
        { type: "A", name: "www.example.test" },
      ],
    });
    assert.equal(rcodeOf(responder.respond(twoQuestions, "127.0.0.1", false).message!), 1);
  });

  it("answers FORMERR to a compressed question or a label holding a dot", () => {
    const header = Buffer.from([0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const compressed = Buffer.concat([header, Buffer.from([0xc0, 0x00, 0, 1, 0, 1])]);
    const dotted = Buffer.concat([
      header,
      Buffer.from([
        5,
        ...Buffer.from("www.x"),
        7,
        ...Buffer.from("example"),
        4,
        ...Buffer.from("test"),
        0,
        0,
        1,
        0,
        1,
      ]),
    ]);
    for (const packet of [compressed, dotted]) {
      const reply = responder.respond(packet, "127.0.0.1", false);
      assert.equal(rcodeOf(reply.message!), 1);
    }
  });

  describe("over the network", () => {
    let runtime: Runtime;
    let port: number;
    before(async () => {
      runtime = await startRuntime(CONFIG);
      port = portOf(runtime);
    });
    after(() => runtime.stop({ graceful: false }));

    it("keeps answering after garbage over UDP and TCP", async () => {
      const socket = createSocket("udp4");
      const random = seeded(99);
      for (let i = 0; i < 500; i++) {
        const packet = Buffer.alloc(Math.floor(random() * 300));
        for (let k = 0; k < packet.length; k++) packet[k] = Math.floor(random() * 256);
        socket.send(packet, port, "127.0.0.1");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.close();
      await new Promise<void>((resolve) => {
        const tcp = connect(port, "127.0.0.1", () => {
          tcp.write(Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5, 0xff, 0xff, 9, 9, 9]));
          tcp.end();
        });
        tcp.on("close", () => resolve());
        tcp.on("error", () => resolve());
      });
      const r = await dig(port, ["www.example.test", "A"]);
      assert.equal(r.status, "NOERROR");
      const t = await dig(port, ["www.example.test", "A", "+tcp"]);
      assert.equal(t.status, "NOERROR");
    });
  });
});
