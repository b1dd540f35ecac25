/**
 * Persistence bindings shared between the pools of two workers (`workers: N`), wired here as
 * the primary wires them: what one pool announces, the other learns. A client keeps its
 * backend whichever pool takes its next connection, two pools that bound a client at once
 * end on the same backend, and a learned binding lasts as long as the owner's connections
 * hold it, then lingers for the persistence timeout.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SharedBinding } from "../../src/pool/persistence.js";
import type { Pool } from "../../src/pool/pool.js";
import { scriptedPool, specs } from "./helpers.js";

const CLIENT = "192.0.2.7";
const PERSISTENCE_MS = 60_000;

/** Two pools of the same config whose announcements are held until `deliver()`. */
function twoWorkers() {
  const a = scriptedPool(specs([1, 1, 1]), { algorithm: "rr", persistenceMs: PERSISTENCE_MS });
  const b = scriptedPool(specs([1, 1, 1]), { algorithm: "rr", persistenceMs: PERSISTENCE_MS });
  const fromA: SharedBinding[] = [];
  const fromB: SharedBinding[] = [];
  a.pool.sharePersistence((binding) => fromA.push(binding));
  b.pool.sharePersistence((binding) => fromB.push(binding));
  const deliver = () => {
    b.pool.learnPersistence(fromA.splice(0));
    a.pool.learnPersistence(fromB.splice(0));
  };
  return { a, b, fromA, fromB, deliver };
}

/** A connection of `client` through `pool`, left open: its backend and how to close it. */
function open(pool: Pool, client: string): { id: string; close(): void } {
  const selection = pool.select({ client });
  const next = selection.next();
  if (next.kind !== "backend") throw new Error(`no backend: ${next.reason}`);
  return {
    id: next.lease.backend.id,
    close() {
      next.lease.release({ ok: true });
      selection.end();
    },
  };
}

/** One connection of `client` through `pool`, opened and closed: the backend it got. */
function connect(pool: Pool, client: string): string {
  const connection = open(pool, client);
  connection.close();
  return connection.id;
}

const boundTo = (pool: Pool, client: string) =>
  pool.persistence?.rows().find((row) => row.client === client)?.backend;

describe("persistence shared between workers", () => {
  it("a client keeps the backend another worker bound it to", () => {
    const { a, b, deliver } = twoWorkers();
    // Worker b's round robin has moved on: alone, it would give the client another backend.
    connect(b.pool, "198.51.100.1");
    const first = connect(a.pool, CLIENT);
    deliver();
    for (let i = 0; i < 5; i++) assert.equal(connect(b.pool, CLIENT), first);
    assert.equal(connect(a.pool, CLIENT), first);
    a.pool.close();
    b.pool.close();
  });

  // The wall clock that stamps each binding is mocked, so both orders are tested every run.
  for (const laterMs of [0, 5]) {
    const title =
      laterMs === 0
        ? "two workers that bound a client in the same millisecond end on the smaller backend id"
        : "two workers that bound a client at once end on the later binding";
    it(title, (t) => {
      t.mock.timers.enable({ apis: ["Date"], now: 1_700_000_000_000 });
      const { a, b, deliver } = twoWorkers();
      connect(b.pool, "198.51.100.1");
      const onA = open(a.pool, CLIENT).id;
      t.mock.timers.tick(laterMs);
      const onB = open(b.pool, CLIENT).id;
      assert.deepEqual([onA, onB], ["a", "b"], "the race this test is about");
      const winner = laterMs === 0 ? "a" : "b";
      deliver();
      assert.equal(boundTo(a.pool, CLIENT), winner);
      assert.equal(boundTo(b.pool, CLIENT), winner);
      assert.equal(connect(a.pool, CLIENT), winner);
      assert.equal(connect(b.pool, CLIENT), winner);
      a.pool.close();
      b.pool.close();
    });
  }

  it("an older binding never replaces a newer one", () => {
    const { a } = twoWorkers();
    const bound = connect(a.pool, CLIENT);
    const since = Date.now() + 60_000;
    const other = bound === "a" ? "b" : "a";
    a.pool.learnPersistence([[CLIENT, other, since]]);
    assert.equal(boundTo(a.pool, CLIENT), other, "a newer binding is taken");
    a.pool.learnPersistence([[CLIENT, bound, since - 1]]);
    assert.equal(boundTo(a.pool, CLIENT), other, "an older one is not");
    a.pool.learnPersistence([[CLIENT, "no-such-backend", since + 1]]);
    assert.equal(boundTo(a.pool, CLIENT), other, "nor one to a backend this pool lacks");
    a.pool.close();
  });

  it("a learned binding lasts while the owner's connections hold it, then lingers", () => {
    const { a, b, deliver } = twoWorkers();
    const held = open(a.pool, CLIENT); // stays open on worker a
    const bound = held.id;
    deliver();
    // Worker a re-announces at its sweep once half the timeout has passed.
    for (let step = 0; step < 6; step++) {
      a.clock.advance(PERSISTENCE_MS / 2);
      b.clock.advance(PERSISTENCE_MS / 2);
      a.pool.persistence!.sweep();
      deliver();
      b.pool.persistence!.sweep();
      assert.equal(boundTo(b.pool, CLIENT), bound, `still bound after ${step + 1} half-timeouts`);
    }
    // The connection ends: the linger starts on both sides and ends with the timeout.
    held.close();
    deliver();
    b.clock.advance(PERSISTENCE_MS - 1);
    b.pool.persistence!.sweep();
    assert.equal(boundTo(b.pool, CLIENT), bound);
    b.clock.advance(2);
    b.pool.persistence!.sweep();
    assert.equal(boundTo(b.pool, CLIENT), undefined);
    a.pool.close();
    b.pool.close();
  });
});
