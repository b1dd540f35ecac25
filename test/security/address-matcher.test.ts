/** Allow/deny lists: IPv4 and IPv6 blocks, IPv4-mapped peers, bad entries, deny over allow. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccessList, AddressMatcher, isAddressBlock } from "../../src/security/address-matcher.js";
import { mappedIPv4, parseIPv4, parseIPv6 } from "../../src/security/ip-address.js";

describe("address parsing", () => {
  it("reads IPv4 as an unsigned number and refuses what inet_pton refuses", () => {
    assert.equal(parseIPv4("255.255.255.255"), 4294967295);
    assert.equal(parseIPv4("10.0.0.1"), 167772161);
    for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "a.b.c.d", ""]) {
      assert.equal(parseIPv4(bad), -1, bad);
    }
  });

  it("reads IPv6 with a gap, an IPv4 tail or a zone, and refuses malformed text", () => {
    const groups = new Uint16Array(8);
    assert.ok(parseIPv6("2001:db8::1", groups));
    assert.deepEqual([...groups], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.ok(parseIPv6("::", groups));
    assert.deepEqual([...groups], [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.ok(parseIPv6("fe80::1%eth0", groups));
    assert.deepEqual([...groups], [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    assert.ok(parseIPv6("::ffff:10.1.2.3", groups));
    assert.equal(mappedIPv4(groups), parseIPv4("10.1.2.3"));
    assert.ok(parseIPv6("1:2:3:4:5:6:7:8", groups));
    assert.deepEqual([...groups], [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bad of ["1::2::3", ":1:2", "1:2:3:4:5:6:7:8:9", "12345::", "1:2", "g::1", "1:"]) {
      assert.equal(parseIPv6(bad, groups), false, bad);
    }
  });
});

describe("AddressMatcher", () => {
  it("matches IPv4 blocks, single addresses and their edges", () => {
    const m = new AddressMatcher(["10.0.0.0/8", "192.168.1.7", "172.16.0.0/12"]);
    assert.ok(m.matches("10.0.0.0"));
    assert.ok(m.matches("10.255.255.255"));
    assert.ok(!m.matches("11.0.0.0"));
    assert.ok(!m.matches("9.255.255.255"));
    assert.ok(m.matches("192.168.1.7"));
    assert.ok(!m.matches("192.168.1.8"));
    assert.ok(m.matches("172.31.255.255"));
    assert.ok(!m.matches("172.32.0.0"));
  });

  it("treats an IPv4-mapped IPv6 peer as the IPv4 address it carries", () => {
    const m = new AddressMatcher(["127.0.0.2"]);
    assert.ok(m.matches("::ffff:127.0.0.2"));
    assert.ok(!m.matches("::ffff:127.0.0.1"));
    const mappedBlock = new AddressMatcher(["::ffff:10.0.0.0/104"]);
    assert.ok(mappedBlock.matches("10.9.9.9"));
  });

  it("matches IPv6 blocks of any prefix length, group boundaries included", () => {
    const m = new AddressMatcher(["2001:db8::/32", "::1", "fd00:1:2:3:8000::/65"]);
    assert.ok(m.matches("2001:db8:ffff::1"));
    assert.ok(!m.matches("2001:db9::1"));
    assert.ok(m.matches("::1"));
    assert.ok(!m.matches("::2"));
    assert.ok(m.matches("fd00:1:2:3:8000::5"));
    assert.ok(m.matches("fd00:1:2:3:ffff::"));
    assert.ok(!m.matches("fd00:1:2:3:7fff::"));
    assert.ok(!m.matches("10.0.0.1"), "IPv4 is never in an IPv6 block");
  });

  it("covers everything with /0 and merges overlapping blocks", () => {
    assert.ok(new AddressMatcher(["0.0.0.0/0"]).matches("203.0.113.9"));
    assert.ok(new AddressMatcher(["::/0"]).matches("2001:db8::1"));
    const m = new AddressMatcher(["10.0.0.0/24", "10.0.0.128/25", "10.0.1.0/24", "10.0.3.0/24"]);
    assert.ok(m.matches("10.0.1.200"));
    assert.ok(!m.matches("10.0.2.1"));
    assert.ok(m.matches("10.0.3.1"));
  });

  it("ignores host bits given in a block, as nginx does", () => {
    const m = new AddressMatcher(["10.1.2.3/16"]);
    assert.ok(m.matches("10.1.200.1"));
    assert.ok(!m.matches("10.2.0.0"));
  });

  it("refuses bad entries with a message that names them", () => {
    for (const bad of ["300.1.1.1", "10.0.0.0/33", "::1/129", "example.com", "10.0.0.0/x"]) {
      assert.throws(() => new AddressMatcher([bad]), new RegExp(bad.replace(/[./]/g, "\\$&")));
      assert.equal(isAddressBlock(bad), false);
    }
    assert.ok(isAddressBlock("2001:db8::/48"));
  });

  it("matches nothing when empty, and never on junk addresses", () => {
    const m = new AddressMatcher([]);
    assert.ok(m.empty);
    assert.ok(!m.matches("10.0.0.1"));
    assert.ok(!new AddressMatcher(["0.0.0.0/0"]).matches("not an address"));
  });
});

describe("AccessList", () => {
  it("lets everyone in when both lists are empty", () => {
    const list = new AccessList([], []);
    assert.ok(list.open);
    assert.ok(list.allows("203.0.113.1"));
  });

  it("refuses denied addresses and lets the rest in", () => {
    const list = new AccessList([], ["127.0.0.2", "2001:db8::/32"]);
    assert.ok(!list.allows("127.0.0.2"));
    assert.ok(!list.allows("::ffff:127.0.0.2"));
    assert.ok(!list.allows("2001:db8::7"));
    assert.ok(list.allows("127.0.0.1"));
    assert.ok(list.allows("::1"));
  });

  it("with an allow list lets in only those, and deny wins inside it", () => {
    const list = new AccessList(["10.0.0.0/8", "::1"], ["10.6.6.0/24"]);
    assert.ok(list.allows("10.1.1.1"));
    assert.ok(list.allows("::1"));
    assert.ok(!list.allows("10.6.6.6"));
    assert.ok(!list.allows("192.168.0.1"));
    assert.ok(!list.allows("2001:db8::1"));
  });
});
