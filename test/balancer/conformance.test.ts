/**
 * The contract every algorithm in the registry keeps, run against each one by name: it
 * never picks a backend that is unavailable, overloaded or of weight 0, copes with empty
 * pools and membership changes, spreads load as its weights say, and decides the same way
 * given the same random source and clock. Hash algorithms get varied keys (IPv4 addresses).
 *
 * One exception, from the kernel: lblc keeps serving a key from its cached backend when that
 * backend became overloaded (ip_vs_lblc.c checks IP_VS_DEST_F_OVERLOAD only when choosing
 * anew); it still never *chooses* an overloaded one. locality-least-connections.test.ts
 * checks that case.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AlgorithmName, algorithmNames, algorithms } from "../../src/balancer/index.js";
import type { Backend, Balancer, PickContext } from "../../src/balancer/types.js";
import { ipv4Keys, makeBackends, seededRandom, TestBackend } from "./fixtures.js";

const KEYS = ipv4Keys(4096, seededRandom(99));

/** How an algorithm's picks should spread over backends of weights 1, 2, 3, 4. */
type ShareModel = "uniform" | "proportional" | "highest-weight" | "highest-weight-first";

/**
 * fo sends everything to the highest weight; ovf fills the highest weight first and overflows
 * down; unweighted algorithms (rr, random, lc, and dh, which ignores weights as IPVS does)
 * spread evenly; every other weighted one in proportion to weight.
 */
function shareModel(name: AlgorithmName): ShareModel {
  if (name === "fo") return "highest-weight";
  if (name === "ovf") return "highest-weight-first";
  return algorithms[name].weighted ? "proportional" : "uniform";
}

/**
 * Allowed relative error of each share: exact schedules and plain random draws are close;
 * load-aware choices and hash tables (ring points, key sampling) are looser by nature.
 */
function shareTolerance(name: AlgorithmName): number {
  if (algorithms[name].usesKey) return 0.3;
  if (name === "p2c" || name === "ewma") return 0.25;
  return 0.1;
}

function contextFor(seed: number): PickContext {
  return { now: 1, random: seededRandom(seed), key: undefined };
}

/** Picks with a varied key and an advancing clock. */
function pickWithKey(balancer: Balancer, context: PickContext): Backend | undefined {
  context.key = KEYS[Math.floor(context.random() * KEYS.length)];
  context.now += 1;
  return balancer.pick(context);
}

function isSchedulable(backend: Backend): boolean {
  return backend.available && !backend.overloaded && backend.weight > 0;
}

/** lblc alone may return a cached backend that became overloaded (see above). */
function keepsCachedOverloaded(name: AlgorithmName): boolean {
  return name === "lblc";
}

/** What a pick may return: schedulable, or for lblc also a cached overloaded backend. */
function mayReturn(name: AlgorithmName, backend: Backend): boolean {
  if (isSchedulable(backend)) return true;
  return keepsCachedOverloaded(name) && backend.available && backend.weight > 0;
}

/**
 * A closed system: each pick takes an active connection that is released `hold` picks
 * later, so connection-count schedulers see the load their own choices made.
 */
function runClosedSystem(
  balancer: Balancer,
  backends: TestBackend[],
  picks: number,
  hold: number,
  context: PickContext,
): Map<string, number> {
  const counts = new Map<string, number>(backends.map((b) => [b.id, 0]));
  const open: (TestBackend | undefined)[] = [];
  for (let i = 0; i < picks; i++) {
    const picked = pickWithKey(balancer, context) as TestBackend | undefined;
    if (picked !== undefined) {
      picked.active++;
      counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
    }
    open.push(picked);
    if (open.length > hold) {
      const done = open.shift();
      if (done !== undefined) done.active--;
    }
  }
  return counts;
}

/** A random membership or state change, returning the new list (old objects kept). */
function mutate(
  list: TestBackend[],
  random: () => number,
  fresh: () => TestBackend,
): TestBackend[] {
  const next = list.slice();
  const roll = random();
  const any = () => next[Math.floor(random() * next.length)];
  if (roll < 0.2) next.splice(Math.floor(random() * (next.length + 1)), 0, fresh());
  else if (roll < 0.4 && next.length > 0) next.splice(Math.floor(random() * next.length), 1);
  else if (roll < 0.5) next.reverse();
  else if (roll < 0.6 && next.length > 1) next.push(next.shift()!);
  else if (roll < 0.75 && next.length > 0) any().weight = Math.floor(random() * 5);
  else if (roll < 0.85 && next.length > 0) any().available = !any().available;
  else if (roll < 0.9 && next.length > 0) any().overloaded = !any().overloaded;
  else if (roll < 0.93) next.length = 0;
  return next;
}

for (const name of algorithmNames) {
  const info = algorithms[name];

  describe(`conformance: ${name}`, () => {
    it("never picks a backend that is unavailable, overloaded or of weight 0", () => {
      const backends = makeBackends([3, 0, 2, 1, 4, 2, 5]);
      backends[2].available = false;
      backends[5].available = false;
      backends[6].overloaded = true; // the highest weight: fo and ovf would want it
      const balancer = info.create();
      balancer.update(backends);
      const context = contextFor(1);
      let picked = 0;
      for (let i = 0; i < 3000; i++) {
        const backend = pickWithKey(balancer, context);
        if (backend === undefined) continue;
        picked++;
        assert.ok(isSchedulable(backend), `picked ${backend.id}`);
      }
      assert.ok(picked > 0, "no pick at all with three schedulable backends");
    });

    it("does not pick a backend that became unavailable since the last update", () => {
      const backends = makeBackends([1, 5, 1, 1]);
      const balancer = info.create();
      balancer.update(backends);
      const context = contextFor(2);
      for (let i = 0; i < 200; i++) pickWithKey(balancer, context);
      // Health and overload flips are read at pick time (see Backend).
      backends[1].available = false;
      for (let i = 0; i < 2000; i++) {
        assert.notEqual(pickWithKey(balancer, context), backends[1]);
      }
    });

    it("does not pick a backend that became overloaded since the last update", () => {
      const backends = makeBackends([1, 5, 1, 1]);
      const balancer = info.create();
      balancer.update(backends);
      const context = contextFor(2);
      for (let i = 0; i < 200; i++) pickWithKey(balancer, context);
      backends[1].overloaded = true;
      if (keepsCachedOverloaded(name)) {
        // Keys cached on b1 stay there; a key never seen must not be sent to b1.
        for (let i = 0; i < 2000; i++) {
          context.key = `192.168.${i >> 8}.${i & 255}`;
          assert.notEqual(balancer.pick(context), backends[1]);
        }
        return;
      }
      for (let i = 0; i < 2000; i++) {
        assert.notEqual(pickWithKey(balancer, context), backends[1]);
      }
    });

    it("gives undefined for an empty pool, all unavailable, all overloaded, or all of weight 0", () => {
      const balancer = info.create();
      const context = contextFor(3);
      assert.equal(pickWithKey(balancer, context), undefined, "before any update");
      balancer.update([]);
      assert.equal(pickWithKey(balancer, context), undefined, "empty");
      const down = makeBackends([1, 2, 3]);
      for (const backend of down) backend.available = false;
      balancer.update(down);
      for (let i = 0; i < 50; i++) assert.equal(pickWithKey(balancer, context), undefined);
      const overloaded = makeBackends([1, 2, 3]);
      for (const backend of overloaded) backend.overloaded = true;
      balancer.update(overloaded);
      for (let i = 0; i < 50; i++) assert.equal(pickWithKey(balancer, context), undefined);
      balancer.update(makeBackends([0, 0]));
      for (let i = 0; i < 50; i++) assert.equal(pickWithKey(balancer, context), undefined);
      assert.equal(balancer.pick({ now: 0, random: () => 0.5 }), undefined, "without a key");
    });

    it("never returns a removed backend across adds, removes, reorders and weight changes", () => {
      const random = seededRandom(4);
      let serial = 0;
      const fresh = () => new TestBackend(`n${serial++}`, 1 + Math.floor(random() * 4));
      let backends = makeBackends([1, 2, 3, 1, 2]);
      const balancer = info.create();
      balancer.update(backends);
      const context = contextFor(5);
      for (let round = 0; round < 300; round++) {
        backends = mutate(backends, random, fresh);
        balancer.update(backends);
        const members = new Set<Backend>(backends);
        for (let i = 0; i < 20; i++) {
          const backend = i % 5 === 4 ? balancer.pick(context) : pickWithKey(balancer, context);
          if (backend === undefined) continue;
          assert.ok(members.has(backend), `round ${round}: ${backend.id} is not in the pool`);
          assert.ok(mayReturn(name, backend), `round ${round}: ${backend.id} is not schedulable`);
        }
      }
    });

    it("spreads picks as its weights say", () => {
      const backends = makeBackends([1, 2, 3, 4]);
      const balancer = info.create();
      balancer.update(backends);
      const counts = runClosedSystem(balancer, backends, 40_000, 200, contextFor(6));
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      assert.ok(total > 0, "no picks");
      const shares = backends.map((b) => (counts.get(b.id) ?? 0) / total);
      const model = shareModel(name);
      const described = shares.map((s) => s.toFixed(3)).join(", ");
      if (model === "highest-weight") {
        assert.equal(shares[3], 1, `all to the highest weight, got ${described}`);
        return;
      }
      if (model === "highest-weight-first") {
        assert.ok(
          shares[3] >= shares[2] && shares[2] >= shares[1] && shares[1] >= shares[0],
          `filled in weight order, got ${described}`,
        );
        return;
      }
      const expected = model === "uniform" ? [0.25, 0.25, 0.25, 0.25] : [0.1, 0.2, 0.3, 0.4];
      const tolerance = shareTolerance(name);
      for (let i = 0; i < 4; i++) {
        const error = Math.abs(shares[i] - expected[i]) / expected[i];
        assert.ok(
          error <= tolerance,
          `${model} shares: expected ${expected.join(", ")}, got ${described}`,
        );
      }
    });

    it("decides the same way given the same random source, clock and changes", () => {
      const run = (): string => {
        const random = seededRandom(8);
        let serial = 0;
        const fresh = () => new TestBackend(`n${serial++}`, 1 + Math.floor(random() * 4));
        let backends = makeBackends([2, 1, 3, 1]);
        const balancer = info.create();
        balancer.update(backends);
        const context = contextFor(9);
        const out: string[] = [];
        for (let round = 0; round < 40; round++) {
          if (round % 4 === 3) {
            backends = mutate(backends, random, fresh);
            balancer.update(backends);
          }
          for (const backend of backends) {
            backend.active = Math.floor(random() * 5);
            backend.inactive = Math.floor(random() * 3);
            backend.latencyMs = 1 + Math.floor(random() * 50);
            backend.latencyAt = context.now;
          }
          for (let i = 0; i < 25; i++) out.push(pickWithKey(balancer, context)?.id ?? "-");
        }
        return out.join(" ");
      };
      const first = run();
      assert.equal(run(), first);
      assert.notEqual(first.replaceAll("-", "").trim(), "", "never picked anything");
    });
  });
}
