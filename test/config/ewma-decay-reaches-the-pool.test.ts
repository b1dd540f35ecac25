/** `options.decay` sets both halves of peak EWMA: the algorithm's decay and the pool's blending. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { poolSchema } from "../../src/config/schema/index.js";
import { poolOptionsFromConfig } from "../../src/runtime/pools.js";

describe("ewma decay from the config", () => {
  it("reaches the pool's latency average as well as the algorithm", () => {
    const options = poolOptionsFromConfig(
      poolSchema.parse({ algorithm: "ewma", options: { decay: "2s" } }),
    );
    assert.equal(options.algorithmOptions?.decayMs, 2000);
    assert.equal(options.latencyDecayMs, 2000);
  });

  it("leaves the pool's default when unset", () => {
    const options = poolOptionsFromConfig(poolSchema.parse({ algorithm: "ewma" }));
    assert.equal(options.latencyDecayMs, undefined);
  });
});
