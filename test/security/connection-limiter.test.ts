/** Connection counts per client and per listener, and the limits section as one object. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientLimits, retryAfterSeconds } from "../../src/security/client-limits.js";
import { ConnectionLimiter } from "../../src/security/connection-limiter.js";

const NO_LIMITS = {
  allow: [],
  deny: [],
  rate_per_second: 0,
  burst: 0,
  connections_per_client: 0,
  max_connections: 0,
};

describe("ConnectionLimiter", () => {
  it("refuses a client's connection beyond connections_per_client", () => {
    const limiter = new ConnectionLimiter(2, 0);
    assert.equal(limiter.open("a"), undefined);
    assert.equal(limiter.open("a"), undefined);
    assert.equal(limiter.open("a"), "connections_per_client");
    assert.equal(limiter.open("b"), undefined);
    assert.equal(limiter.openBy("a"), 2);
    limiter.close("a");
    assert.equal(limiter.open("a"), undefined);
  });

  it("refuses any connection beyond max_connections", () => {
    const limiter = new ConnectionLimiter(0, 2);
    assert.equal(limiter.open("a"), undefined);
    assert.equal(limiter.open("b"), undefined);
    assert.equal(limiter.open("c"), "max_connections");
    limiter.close("b");
    assert.equal(limiter.open("c"), undefined);
    assert.equal(limiter.openTotal, 2);
  });

  it("counts with limits off, so a limit turned on later sees what is open", () => {
    const limiter = new ConnectionLimiter();
    for (let i = 0; i < 3; i++) assert.equal(limiter.open("a"), undefined);
    limiter.configure(2, 0);
    assert.equal(limiter.open("a"), "connections_per_client");
    limiter.close("a");
    limiter.close("a");
    assert.equal(limiter.open("a"), undefined);
  });

  it("forgets a client whose last connection closed, and ignores a stray close", () => {
    const limiter = new ConnectionLimiter(1, 1);
    limiter.open("a");
    limiter.close("a");
    limiter.close("a");
    assert.equal(limiter.clients, 0);
    assert.equal(limiter.openTotal, 0);
    assert.equal(limiter.open("a"), undefined);
  });
});

describe("ClientLimits", () => {
  it("refuses denied clients at accept without counting them", () => {
    const limits = new ClientLimits({ ...NO_LIMITS, deny: ["127.0.0.2"] });
    assert.equal(limits.openConnection("127.0.0.2"), "denied");
    assert.equal(limits.openConnection("127.0.0.1"), undefined);
    assert.equal(limits.openConnections, 1);
  });

  it("takes a rate token per connection only when asked to", () => {
    let now = 0;
    const limits = new ClientLimits({ ...NO_LIMITS, rate_per_second: 1 }, () => now);
    assert.equal(limits.openConnection("a", true), undefined);
    assert.equal(limits.openConnection("a", true), "rate_per_second");
    assert.equal(limits.openConnection("a", false), undefined, "http counts requests instead");
    now = 1000;
    assert.equal(limits.openConnection("a", true), undefined);
  });

  it("keeps counts and buckets over a reconfigure, and a bad entry changes nothing", () => {
    const limits = new ClientLimits({ ...NO_LIMITS, connections_per_client: 1 });
    assert.equal(limits.openConnection("a"), undefined);
    assert.throws(
      () => limits.configure({ ...NO_LIMITS, deny: ["10.0.0.0/40"] }),
      /10\.0\.0\.0\/40/,
    );
    assert.equal(limits.openConnection("a"), "connections_per_client");
    limits.configure(undefined);
    assert.equal(limits.openConnection("a"), undefined);
    assert.equal(limits.openConnectionsOf("a"), 2);
  });

  it("rounds a wait up to whole seconds for Retry-After", () => {
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1000), 1);
    assert.equal(retryAfterSeconds(1001), 2);
  });
});
