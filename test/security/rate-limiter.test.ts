/** The per-client token bucket, driven by a scripted clock. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimiter } from "../../src/security/rate-limiter.js";

/** A clock the test moves by hand. */
function scriptedClock(start = 0) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

describe("RateLimiter", () => {
  it("admits burst + 1 at once, then refuses and says how long to wait", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 4, clock: clock.read });
    for (let i = 0; i < 5; i++) assert.equal(limiter.take("a"), 0, `request ${i}`);
    assert.equal(limiter.take("a"), 100, "one token comes every 100 ms");
    clock.now = 40;
    assert.equal(limiter.take("a"), 60);
    clock.now = 100;
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 100);
  });

  it("with burst 0 admits one request per 1/rate, as nginx limit_req does", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 0, clock: clock.read });
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 500);
    clock.now = 499;
    assert.ok(limiter.take("a") > 0);
    clock.now = 500;
    assert.equal(limiter.take("a"), 0);
  });

  it("keeps one bucket per client", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 0, clock: clock.read });
    assert.equal(limiter.take("a"), 0);
    assert.ok(limiter.take("a") > 0);
    assert.equal(limiter.take("b"), 0);
    assert.equal(limiter.take("::ffff:10.0.0.1"), 0);
  });

  it("refills to the capacity and no further after a long pause", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 2, clock: clock.read });
    limiter.take("a");
    clock.now = 3_600_000;
    let admitted = 0;
    while (limiter.take("a") === 0 && admitted < 100) admitted++;
    assert.equal(admitted, 3);
  });

  it("admits everything and tracks nobody when the rate is 0", () => {
    const limiter = new RateLimiter({ ratePerSecond: 0, burst: 0, clock: () => 0 });
    assert.ok(!limiter.enabled);
    for (let i = 0; i < 1000; i++) assert.equal(limiter.take(`c${i}`), 0);
    assert.equal(limiter.size, 0);
  });

  it("forgets buckets that have filled up again, and only those", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 9, clock: clock.read });
    limiter.take("idle");
    clock.now = 500;
    for (let i = 0; i < 10; i++) limiter.take("busy");
    // "idle" was full again at 100 ms; "busy" holds 5 of 10 tokens at 1000 ms.
    clock.now = 1000;
    limiter.sweep();
    assert.equal(limiter.size, 1);
    let admitted = 0;
    while (limiter.take("busy") === 0 && admitted < 100) admitted++;
    assert.equal(admitted, 5, "the swept limiter still remembers the busy client's bucket");
  });

  it("stays within maxClients, evicting full buckets first, then the oldest", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({
      ratePerSecond: 1,
      burst: 0,
      maxClients: 3,
      clock: clock.read,
    });
    for (const client of ["a", "b", "c"]) limiter.take(client);
    clock.now = 10; // nobody has refilled: the oldest ("a") must go
    limiter.take("d");
    assert.equal(limiter.size, 3);
    assert.equal(limiter.take("a"), 0, "a was forgotten and starts with a full bucket");
    assert.ok(limiter.take("d") > 0, "d is still tracked");
    for (let i = 0; i < 10_000; i++) limiter.take(`flood${i}`);
    assert.equal(limiter.size, 3);
  });

  it("at maxClients, a flood of new clients costs no full sweep per request", () => {
    const clock = scriptedClock();
    let sweeps = 0;
    class CountingLimiter extends RateLimiter {
      override sweep(now?: number): void {
        sweeps++;
        super.sweep(now);
      }
    }
    const limiter = new CountingLimiter({
      ratePerSecond: 1,
      burst: 0,
      maxClients: 100,
      clock: clock.read,
    });
    for (let i = 0; i < 1000; i++) limiter.take(`flood${i}`);
    assert.equal(limiter.size, 100);
    assert.ok(sweeps <= 2, `${sweeps} sweeps of the whole table for 1000 requests at one instant`);
    clock.now = 1000;
    limiter.take("later");
    assert.ok(sweeps <= 3, "sweeps still run as time passes");
  });

  it("sweeps by itself as time passes, so idle clients do not pile up", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 100, burst: 0, clock: clock.read });
    for (let i = 0; i < 500; i++) limiter.take(`c${i}`);
    assert.equal(limiter.size, 500);
    clock.now = 5000;
    limiter.take("late");
    assert.equal(limiter.size, 1);
  });

  it("follows a new rate and burst, keeping buckets but never above the new capacity", () => {
    const clock = scriptedClock();
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 10, clock: clock.read });
    limiter.take("a"); // 10 tokens left
    limiter.configure(1, 1); // capacity 2
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 0);
    assert.ok(limiter.take("a") > 0);
    limiter.configure(1000, 1);
    clock.now = 1;
    assert.equal(limiter.take("a"), 0, "the new rate refills from now on");
    limiter.configure(0, 0);
    assert.equal(limiter.size, 0);
  });

  it("does not refill when the clock steps back", () => {
    const clock = scriptedClock(1000);
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 0, clock: clock.read });
    limiter.take("a");
    clock.now = 0;
    assert.ok(limiter.take("a") > 0);
  });
});
