/** PROXY protocol v1 and v2 as HAProxy's proxy-protocol.txt specifies them. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeProxyHeader,
  encodeProxyV1,
  encodeProxyV2,
  PROXY_V2_SIGNATURE,
  type ProxyAddresses,
  TrustedSources,
} from "../../src/net/proxy-protocol.js";

const v4: ProxyAddresses = {
  family: "tcp4",
  sourceAddress: "192.168.0.1",
  sourcePort: 56324,
  destinationAddress: "192.168.0.11",
  destinationPort: 443,
};
const v6: ProxyAddresses = {
  family: "tcp6",
  sourceAddress: "2001:db8::1",
  sourcePort: 40000,
  destinationAddress: "::1",
  destinationPort: 6379,
};

function decoded(data: Buffer) {
  const result = decodeProxyHeader(data);
  assert.equal(result.status, "ok", JSON.stringify(result));
  return result as Extract<typeof result, { status: "ok" }>;
}

describe("PROXY protocol v1", () => {
  it("encodes the spec's example line for TCP4", () => {
    assert.equal(encodeProxyV1(v4).toString(), "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  });

  it("encodes TCP6 and UNKNOWN", () => {
    assert.equal(encodeProxyV1(v6).toString(), "PROXY TCP6 2001:db8::1 ::1 40000 6379\r\n");
    assert.equal(encodeProxyV1(undefined).toString(), "PROXY UNKNOWN\r\n");
  });

  it("sends a mix of IPv4 and IPv6 as TCP6 with an IPv4-mapped address", () => {
    const mixed = { ...v6, sourceAddress: "10.0.0.1" };
    assert.equal(encodeProxyV1(mixed).toString(), "PROXY TCP6 ::ffff:10.0.0.1 ::1 40000 6379\r\n");
  });

  it("decodes what it encodes, and says how long the header is", () => {
    const payload = Buffer.from("GET / HTTP/1.0\r\n\r\n");
    for (const addresses of [v4, v6]) {
      const header = encodeProxyV1(addresses);
      const result = decoded(Buffer.concat([header, payload]));
      assert.deepEqual(result.header, { version: 1, addresses });
      assert.equal(result.length, header.length);
    }
    assert.deepEqual(decoded(Buffer.from("PROXY UNKNOWN\r\n")).header, {
      version: 1,
      addresses: undefined,
    });
  });

  it("asks for more bytes until the line is complete", () => {
    const header = encodeProxyV1(v4);
    for (let cut = 1; cut < header.length; cut++) {
      assert.equal(decodeProxyHeader(header.subarray(0, cut)).status, "incomplete", `cut ${cut}`);
    }
  });

  it("refuses malformed lines", () => {
    const bad = [
      "GET / HTTP/1.1\r\n",
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
      "PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
      "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
      "PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",
      `PROXY TCP4 ${"1".repeat(120)}`,
    ];
    for (const line of bad) {
      assert.equal(decodeProxyHeader(Buffer.from(line)).status, "invalid", line);
    }
  });
});

describe("PROXY protocol v2", () => {
  it("encodes TCP over IPv4 byte for byte", () => {
    const header = encodeProxyV2(v4);
    assert.deepEqual(header.subarray(0, 12), PROXY_V2_SIGNATURE);
    assert.equal(header[12], 0x21, "version 2, command PROXY");
    assert.equal(header[13], 0x11, "AF_INET, STREAM");
    assert.equal(header.readUInt16BE(14), 12);
    assert.deepEqual([...header.subarray(16, 24)], [192, 168, 0, 1, 192, 168, 0, 11]);
    assert.equal(header.readUInt16BE(24), 56324);
    assert.equal(header.readUInt16BE(26), 443);
    assert.equal(header.length, 28);
  });

  it("encodes TCP over IPv6 with the 16-byte addresses", () => {
    const header = encodeProxyV2(v6);
    assert.equal(header[13], 0x21, "AF_INET6, STREAM");
    assert.equal(header.readUInt16BE(14), 36);
    assert.equal(header.subarray(16, 32).toString("hex"), "20010db8000000000000000000000001");
    assert.equal(header.subarray(32, 48).toString("hex"), "00000000000000000000000000000001");
    assert.equal(header.readUInt16BE(48), 40000);
    assert.equal(header.readUInt16BE(50), 6379);
  });

  it("round-trips IPv4, IPv6, UDP and LOCAL", () => {
    const udp6: ProxyAddresses = { ...v6, family: "udp6", sourceAddress: "fe80::1:2:3" };
    for (const addresses of [v4, v6, udp6]) {
      const result = decoded(encodeProxyV2(addresses));
      assert.deepEqual(result.header, { version: 2, addresses });
    }
    const local = decoded(encodeProxyV2(undefined));
    assert.deepEqual(local.header, { version: 2, addresses: undefined });
    assert.equal(local.length, 16);
  });

  it("skips TLVs after the addresses and leaves the payload alone", () => {
    const base = encodeProxyV2(v4);
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_NOOP "abc"
    const header = Buffer.concat([base, tlv]);
    header.writeUInt16BE(12 + tlv.length, 14);
    const result = decoded(Buffer.concat([header, Buffer.from("PING\r\n")]));
    assert.equal(result.length, header.length);
    assert.deepEqual(result.header.addresses, v4);
  });

  it("asks for more bytes until the declared length has arrived", () => {
    const header = encodeProxyV2(v6);
    for (let cut = 1; cut < header.length; cut++) {
      assert.equal(decodeProxyHeader(header.subarray(0, cut)).status, "incomplete", `cut ${cut}`);
    }
  });

  it("refuses a bad signature, version, command or a length too short for the family", () => {
    const good = encodeProxyV2(v4);
    const withByte = (index: number, value: number) => {
      const copy = Buffer.from(good);
      copy[index] = value;
      return copy;
    };
    assert.equal(decodeProxyHeader(withByte(5, 0x99)).status, "invalid", "signature");
    assert.equal(decodeProxyHeader(withByte(12, 0x11)).status, "invalid", "version 1 in v2");
    assert.equal(decodeProxyHeader(withByte(12, 0x2f)).status, "invalid", "command 15");
    const short = Buffer.from(good.subarray(0, 20));
    short.writeUInt16BE(4, 14);
    assert.equal(decodeProxyHeader(short).status, "invalid", "4 bytes for AF_INET");
    const huge = Buffer.from(good);
    huge.writeUInt16BE(65535, 14);
    assert.equal(decodeProxyHeader(huge).status, "invalid", "declared 64 KiB of TLVs");
  });
});

describe("trusted front balancers", () => {
  it("matches CIDR blocks and single addresses, IPv4-mapped peers included", () => {
    const trusted = new TrustedSources(["10.0.0.0/8", "127.0.0.1", "fd00::/8"]);
    assert.equal(trusted.has("10.20.30.40"), true);
    assert.equal(trusted.has("::ffff:10.1.1.1"), true);
    assert.equal(trusted.has("127.0.0.1"), true);
    assert.equal(trusted.has("127.0.0.2"), false);
    assert.equal(trusted.has("fd12::1"), true);
    assert.equal(trusted.has("fe80::1"), false);
    assert.equal(new TrustedSources([]).has("10.0.0.1"), false);
  });
});
