/**
 * A pool with `role` serves only the backends a database check found in that role: a write
 * pool never hands out a replica (nor a node whose role is not known yet), a read pool falls
 * back to the primary only when asked to and only while no replica is in service.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { poolSchema } from "../../src/config/schema/pool.js";
import { Pool, type PoolEvent } from "../../src/pool/pool.js";

const specs = [
  { id: "a", host: "127.0.0.1", port: 3301 },
  { id: "b", host: "127.0.0.1", port: 3302 },
  { id: "c", host: "127.0.0.1", port: 3303 },
];

/** Every backend the pool picks in `rounds` picks. */
function picked(pool: Pool, rounds = 12): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < rounds; i++) {
    const backend = pool.pick();
    if (backend) seen.add(backend.id);
  }
  return [...seen].sort();
}

describe("role-aware pools", () => {
  it("a write pool picks nothing until a check names a primary, then only the primary", () => {
    const pool = new Pool("w", specs, { algorithm: "rr", role: "primary" });
    assert.deepEqual(picked(pool), [], "no role known: nothing is in service");
    pool.setRole("a", "primary", "read_only=0");
    pool.setRole("b", "replica", "read_only=1");
    pool.setRole("c", "replica", "read_only=1");
    assert.deepEqual(picked(pool), ["a"]);
  });

  it("a promotion moves the write pool; a demoted primary leaves it", () => {
    const events: PoolEvent[] = [];
    const pool = new Pool("w", specs, { algorithm: "rr", role: "primary" });
    pool.onEvent((event) => events.push(event));
    pool.setRole("a", "primary");
    pool.setRole("b", "replica");
    pool.setRole("a", "replica", "read_only=1");
    assert.equal(pool.pick(), undefined, "no primary: the write pool refuses");
    pool.setRole("b", "primary", "read_only=0");
    assert.deepEqual(picked(pool), ["b"]);
    const roles = events.filter((e) => e.type === "role");
    assert.equal(roles.length, 4);
    assert.deepEqual(roles.at(-1), {
      type: "role",
      pool: "w",
      backend: pool.get("b"),
      role: "primary",
      previous: "replica",
      reason: "read_only=0",
    });
    assert.equal(pool.setRole("b", "primary"), false, "no event when nothing changed");
  });

  it("a read pool falls back to the primary only with fallback_to_primary, and only while no replica serves", () => {
    for (const fallbackToPrimary of [false, true]) {
      const pool = new Pool("r", specs, { algorithm: "rr", role: "replica", fallbackToPrimary });
      pool.setRole("a", "primary");
      pool.setRole("b", "replica");
      pool.setRole("c", "replica");
      assert.deepEqual(picked(pool), ["b", "c"]);
      pool.setHealth("b", "down", "lag over max_lag");
      pool.setHealth("c", "down", "replication stopped");
      assert.deepEqual(picked(pool), fallbackToPrimary ? ["a"] : []);
      pool.setHealth("c", "up", "caught up");
      assert.deepEqual(picked(pool), ["c"], "the primary leaves as soon as a replica is back");
    }
  });

  it("a pool without role serves every backend whatever the checks find", () => {
    const pool = new Pool("any", specs, { algorithm: "rr" });
    pool.setRole("a", "primary");
    pool.setRole("b", "replica");
    assert.deepEqual(picked(pool), ["a", "b", "c"]);
  });

  it("reconfigure applies a new role to the backends already in the pool", () => {
    const pool = new Pool("w", specs, { algorithm: "rr" });
    pool.setRole("a", "primary");
    pool.setRole("b", "replica");
    pool.reconfigure({ algorithm: "rr", role: "replica" });
    assert.deepEqual(picked(pool), ["b"]);
  });
});

describe("role config", () => {
  const check = { type: "mysql", user: "check", password: "x" };
  const issues = (section: Record<string, unknown>) =>
    (poolSchema.safeParse(section).error?.issues ?? []).map(
      (issue) => `${issue.path.join(".")}: ${issue.message}`,
    );

  it("role needs a check that finds roles", () => {
    assert.match(
      issues({ role: "primary" }).join(),
      /health_check: role: primary needs a health_check/,
    );
    assert.match(
      issues({ role: "primary", health_check: { type: "tcp" } }).join(),
      /needs a health_check that finds roles/,
    );
    assert.match(
      issues({ role: "primary", health_check: { type: "mysql" } }).join(),
      /type mysql \(with a user\)/,
    );
    assert.deepEqual(issues({ role: "primary", health_check: check }), []);
    assert.deepEqual(issues({ role: "primary", health_check: { type: "redis" } }), []);
  });

  it("fallback_to_primary is for replica pools; panic would ignore roles", () => {
    assert.match(
      issues({ fallback_to_primary: true }).join(),
      /fallback_to_primary needs role: replica/,
    );
    assert.match(
      issues({ role: "primary", fallback_to_primary: true, health_check: check }).join(),
      /for role: replica pools/,
    );
    assert.match(
      issues({ role: "primary", panic_threshold: 50, health_check: check }).join(),
      /panic_threshold: panic_threshold cannot be used with role/,
    );
  });
});
