/**
 * The admin API's requests/s per backend: a backend replaced under the same id (a reload
 * that changes its address, a heartbeat that moves it) starts from its own counters, so its
 * rate is never negative.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateSampler } from "../../src/admin/rates.js";
import { Pool } from "../../src/pool/pool.js";
import type { Runtime } from "../../src/runtime/runtime.js";

describe("request rate of a replaced backend", () => {
  it("counts from the new backend's counters, not the old one's", () => {
    const pool = new Pool("api", [{ id: "api-1", host: "127.0.0.1", port: 3001 }]);
    const runtime = { pools: new Map([["api", pool]]) } as unknown as Runtime;
    const rates = new RateSampler(runtime);
    pool.get("api-1")!.counters.requests = 50;
    rates.sample(0);
    pool.get("api-1")!.counters.requests = 150;
    rates.sample(1000);
    assert.equal(rates.rate("api", "api-1"), 100);

    // Same id, new address: a new backend whose counters start at 0.
    pool.remove("api-1");
    pool.add({ id: "api-1", host: "127.0.0.1", port: 3002 });
    pool.get("api-1")!.counters.requests = 5;
    rates.sample(2000);
    assert.ok(rates.rate("api", "api-1") >= 0, `rate ${rates.rate("api", "api-1")}`);
    pool.get("api-1")!.counters.requests = 25;
    rates.sample(3000);
    assert.equal(rates.rate("api", "api-1"), 20);
    pool.close();
  });
});
