/**
 * The answer writer against the library: every record type it writes decodes with
 * dns-packet to what dns-packet's own writer round-trips, names are compressed (smaller than
 * the library's output) and the question keeps the client's bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import dnsPacket, { type Answer } from "dns-packet";
import { writeResponse } from "../../src/dns/wire-writer.js";

const answers: Answer[] = [
  { name: "WwW.Example.test", type: "A", class: "IN", ttl: 60, data: "192.0.2.1" },
  { name: "WwW.Example.test", type: "AAAA", class: "IN", ttl: 60, data: "2001:db8::1:2" },
  { name: "alias.example.test", type: "CNAME", class: "IN", ttl: 5, data: "www.example.test" },
  { name: "example.test", type: "NS", class: "IN", ttl: 300, data: "ns1.example.test" },
  {
    name: "example.test",
    type: "MX",
    class: "IN",
    ttl: 300,
    data: { preference: 10, exchange: "mail.example.test" },
  },
  {
    name: "example.test",
    type: "TXT",
    class: "IN",
    ttl: 300,
    data: [Buffer.from("v=spf1 -all"), Buffer.from("")],
  },
  {
    name: "_http._tcp.example.test",
    type: "SRV",
    class: "IN",
    ttl: 300,
    data: { priority: 1, weight: 5, port: 8080, target: "www.example.test" },
  },
];
const soa: Answer = {
  name: "example.test",
  type: "SOA",
  class: "IN",
  ttl: 30,
  data: {
    mname: "ns1.example.test",
    rname: "hostmaster.example.test",
    serial: 7,
    refresh: 1,
    retry: 2,
    expire: 3,
    minimum: 4,
  },
};

function strip(records: Answer[] | undefined) {
  return (records ?? []).map((r) => {
    const { flush: _flush, ...rest } = r as Answer & { flush?: boolean };
    return rest;
  });
}

describe("wire writer matches dns-packet", () => {
  const question = { name: "WwW.Example.test", type: "A" as const, class: "IN" as const };
  const library = dnsPacket.encode({
    type: "response",
    id: 42,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [question],
    answers,
    authorities: [soa],
  });
  const raw = Buffer.from([
    3,
    0x57,
    0x77,
    0x57,
    7,
    ...Buffer.from("Example"),
    4,
    ...Buffer.from("test"),
    0,
  ]);
  const ours = writeResponse(
    {
      id: 42,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      question: { name: "WwW.Example.test", raw, type: 1, class: 1 },
      answers,
      authorities: [soa],
      opt: {
        udpPayloadSize: 1232,
        extendedRcode: 0,
        options: [{ code: 8, data: Buffer.from([0, 1, 24, 16, 10, 1, 2]) }],
      },
    },
    65_535,
  );

  it("decodes to the same records", () => {
    const expected = dnsPacket.decode(library);
    const actual = dnsPacket.decode(ours.message);
    assert.equal(actual.id, 42);
    assert.equal(actual.flag_qr, true);
    assert.equal(actual.flag_aa, true);
    assert.deepEqual(actual.questions, expected.questions);
    assert.deepEqual(strip(actual.answers), strip(expected.answers));
    assert.deepEqual(strip(actual.authorities), strip(expected.authorities));
    const opt = actual.additionals?.[0] as {
      type: string;
      udpPayloadSize: number;
      options: Array<{
        code: number;
        sourcePrefixLength: number;
        scopePrefixLength: number;
        ip: string;
      }>;
    };
    assert.equal(opt.type, "OPT");
    assert.equal(opt.udpPayloadSize, 1232);
    assert.deepEqual(
      [
        opt.options[0].code,
        opt.options[0].sourcePrefixLength,
        opt.options[0].scopePrefixLength,
        opt.options[0].ip,
      ],
      [8, 24, 16, "10.1.2.0"],
    );
  });

  it("compresses names and keeps the client's spelling of the question", () => {
    assert.ok(
      ours.message.length < library.length - 60,
      `${ours.message.length} vs ${library.length}`,
    );
    assert.ok(ours.message.subarray(12, 12 + raw.length).equals(raw));
  });

  it("truncates to header, question and OPT when over the limit", () => {
    const small = writeResponse(
      {
        id: 1,
        flags: 0,
        question: { name: "x.test", type: 1, class: 1 },
        answers,
        authorities: [soa],
        opt: undefined,
      },
      100,
    );
    assert.ok(small.truncated);
    const decoded = dnsPacket.decode(small.message);
    assert.equal(decoded.flag_tc, true);
    assert.equal(decoded.answers?.length, 0);
    assert.equal(decoded.questions?.[0].name, "x.test");
  });
});
