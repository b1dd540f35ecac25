/**
 * The hash functions and the address parser of src/balancer/common/hash.ts, against the
 * published test vectors of FNV-1a (Fowler/Noll/Vo), MurmurHash3 x86_32 (SMHasher),
 * xxHash32 (Collet's reference) and MD5 as libketama reduces it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  fnv1a32,
  fnv1aBytes,
  hashFunction,
  md5_32,
  murmur3_32,
  murmur3Bytes,
  newParsedAddress,
  parseAddressKey,
  xxhash32,
  xxhash32Bytes,
} from "../../src/balancer/common/hash.js";

test("FNV-1a 32 matches the reference vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

test("MurmurHash3 x86_32 matches the reference vectors", () => {
  assert.equal(murmur3_32(""), 0);
  assert.equal(murmur3_32("", 1), 0x514e28b7);
  assert.equal(murmur3_32("hello"), 0x248bfa47);
  assert.equal(murmur3_32("The quick brown fox jumps over the lazy dog"), 0x2e4ff723);
});

test("xxHash32 matches the reference vectors, short and long inputs", () => {
  assert.equal(xxhash32(""), 0x02cc5d05);
  assert.equal(xxhash32("a"), 0x550d7456);
  assert.equal(xxhash32("abc"), 0x32d153ff);
  assert.equal(xxhash32("Nobody inspects the spammish repetition"), 0xe2293b2f);
});

test("md5 reduces a key to 32 bits as libketama does: first digest bytes, little-endian", () => {
  const digest = createHash("md5").update("10.0.0.1:11211-0").digest();
  assert.equal(md5_32("10.0.0.1:11211-0"), digest.readUInt32LE(0));
  assert.equal(md5_32(""), 0xd98c1dd4);
});

test("strings hash as their UTF-8 bytes, including non-ASCII and astral characters", () => {
  const texts = ["café", "日本語のキー", "emoji 🎈 key", "lone \ud800 surrogate", "x".repeat(600)];
  // Every length around the short-key fast path and the 16-byte stripe boundary.
  for (let n = 0; n <= 33; n++) texts.push("10.1.2.3:5555/abcdefghijklmnopqrstuvwxyz".slice(0, n));
  texts.push("10.1.2.é", "ab\u0080");
  for (const text of texts) {
    const bytes = new Uint8Array(Buffer.from(text, "utf8"));
    assert.equal(fnv1a32(text), fnv1aBytes(bytes, bytes.length), text);
    assert.equal(murmur3_32(text, 9), murmur3Bytes(bytes, bytes.length, 9), text);
    assert.equal(xxhash32(text, 9), xxhash32Bytes(bytes, bytes.length, 9), text);
  }
});

test("hashFunction returns the function registered under each HashName", () => {
  assert.equal(hashFunction("fnv1a")("a"), 0xe40c292c);
  assert.equal(hashFunction("murmur3")("hello"), 0x248bfa47);
  assert.equal(hashFunction("xxhash32")("abc"), 0x32d153ff);
  assert.equal(hashFunction("md5")(""), 0xd98c1dd4);
});

test("address keys parse to 32-bit words, with ports, brackets, zones and mapped IPv4", () => {
  const out = newParsedAddress();
  const parse = (key: string) =>
    parseAddressKey(key, out) ? [...out.words.slice(0, out.count)].concat(out.port) : undefined;
  assert.deepEqual(parse("10.1.2.3"), [0x0a010203, 0]);
  assert.deepEqual(parse("10.1.2.3:5555"), [0x0a010203, 5555]);
  assert.deepEqual(parse("2001:db8::1"), [0x20010db8, 0, 0, 1, 0]);
  assert.deepEqual(parse("[2001:db8::1]:443"), [0x20010db8, 0, 0, 1, 443]);
  assert.deepEqual(parse("::ffff:1.2.3.4"), [0x01020304, 0]);
  assert.deepEqual(parse("fe80::1%eth0"), [0xfe800000, 0, 0, 1, 0]);
  assert.deepEqual(parse("1:2:3:4:5:6:7:8"), [0x00010002, 0x00030004, 0x00050006, 0x00070008, 0]);
  assert.deepEqual(parse("::"), [0, 0, 0, 0, 0]);
  assert.deepEqual(parse("64:ff9b::192.0.2.1"), [0x0064ff9b, 0, 0, 0xc0000201, 0]);
  for (const bad of [
    "",
    "1.2.3",
    "256.1.1.1",
    "1.2.3.4:99999",
    "abc",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "[::1",
    "user@example",
  ]) {
    assert.equal(parse(bad), undefined, bad);
  }
});
