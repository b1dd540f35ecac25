/** nginx's max_fails / fail_timeout through the pool's outcomes: on a scripted clock, then with real connects. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { attachPassiveDetection } from "../../src/health/index.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";
import { closeServer, listenTcp, portOf } from "./helpers.js";

function scripted(ids: string[]) {
  const clock = { now: 1_000 };
  const pool = new Pool(
    "passive",
    ids.map((id, i) => ({ id, host: "127.0.0.1", port: 9000 + i })),
    { algorithm: "rr", clock: () => clock.now },
  );
  return { pool, clock };
}

/** One request to `id` that ends as `ok` says. */
function serve(pool: Pool, id: string, ok: boolean): void {
  const lease = pool.take(pool.get(id)!);
  lease.established();
  lease.release({ ok, latencyMs: 5 });
}

function picked(pool: Pool, count: number): Set<string> {
  const ids = new Set<string>();
  for (let i = 0; i < count; i++) ids.add(pool.pick()?.id ?? "none");
  return ids;
}

test("max_fails failures within fail_timeout suspend a backend; it is tried again after", () => {
  const { pool, clock } = scripted(["a", "b"]);
  const detach = attachPassiveDetection(pool, { maxFails: 3, failTimeoutMs: 10_000 });
  serve(pool, "a", false);
  clock.now += 1_000;
  serve(pool, "a", false);
  assert.equal(pool.get("a")!.available, true, "two failures are below max_fails");
  clock.now += 1_000;
  serve(pool, "a", false);
  assert.equal(pool.get("a")!.available, false, "the third within the window suspends");
  assert.deepEqual(picked(pool, 6), new Set(["b"]));

  clock.now += 9_999;
  pool.refresh();
  assert.equal(pool.get("a")!.available, false, "still inside fail_timeout");
  clock.now += 1;
  pool.refresh();
  assert.equal(pool.get("a")!.available, true, "tried again once fail_timeout has passed");
  assert.deepEqual(picked(pool, 6), new Set(["a", "b"]));

  // The first outcome after a suspension decides: a failure suspends it again at once.
  serve(pool, "a", false);
  assert.equal(pool.get("a")!.available, false);
  clock.now += 10_000;
  pool.refresh();
  // A success clears the count: it takes max_fails failures again.
  serve(pool, "a", true);
  serve(pool, "a", false);
  serve(pool, "a", false);
  assert.equal(pool.get("a")!.available, true);
  detach();
  pool.close();
});

test("failures spread wider than fail_timeout never add up to a suspension", () => {
  const { pool, clock } = scripted(["a", "b"]);
  const detach = attachPassiveDetection(pool, { maxFails: 2, failTimeoutMs: 1_000 });
  for (let i = 0; i < 10; i++) {
    serve(pool, "a", false);
    clock.now += 1_001;
  }
  assert.equal(pool.get("a")!.available, true);
  detach();
  serve(pool, "a", false);
  serve(pool, "a", false);
  assert.equal(pool.get("a")!.available, true, "detached: outcomes are no longer watched");
  pool.close();
});

test("failures of requests in flight when it was suspended do not extend the suspension", () => {
  const { pool, clock } = scripted(["a", "b"]);
  const detach = attachPassiveDetection(pool, { maxFails: 1, failTimeoutMs: 5_000 });
  const inFlight = pool.take(pool.get("a")!);
  serve(pool, "a", false);
  const until = pool.get("a")!.suspendedUntil;
  clock.now += 4_000;
  inFlight.release({ ok: false });
  assert.equal(pool.get("a")!.suspendedUntil, until);
  detach();
  pool.close();
});

test("a pool of one backend is never suspended (nginx ignores max_fails there)", () => {
  const { pool } = scripted(["only"]);
  const detach = attachPassiveDetection(pool, { maxFails: 1, failTimeoutMs: 10_000 });
  serve(pool, "only", false);
  serve(pool, "only", false);
  assert.equal(pool.get("only")!.available, true);
  detach();
  pool.close();
});

test("max_fails 0 turns detection off", () => {
  const { pool } = scripted(["a", "b"]);
  const detach = attachPassiveDetection(pool, { maxFails: 0, failTimeoutMs: 10_000 });
  for (let i = 0; i < 5; i++) serve(pool, "a", false);
  assert.equal(pool.get("a")!.available, true);
  detach();
  pool.close();
});

test("connect failures to a stopped backend suspend it; after fail_timeout it is tried and serves again", async (t) => {
  const live = await listenTcp();
  let flaky = await listenTcp();
  const flakyPort = portOf(flaky);
  const pool = new Pool(
    "passive-real",
    [
      { id: "live", host: "127.0.0.1", port: portOf(live) },
      { id: "flaky", host: "127.0.0.1", port: flakyPort },
    ],
    { algorithm: "rr" },
  );
  const detach = attachPassiveDetection(pool, { maxFails: 2, failTimeoutMs: 1_000 });
  t.after(async () => {
    detach();
    pool.close();
    await Promise.all([closeServer(live), closeServer(flaky)]);
  });
  /** One proxied connection, as a TCP data plane makes it: the outcome is the connect's. */
  const oneConnection = () =>
    new Promise<string>((resolve) => {
      const lease = pool.acquire()!;
      const socket = connect({ host: lease.backend.host, port: lease.backend.port });
      socket.once("connect", () => {
        lease.established();
        socket.destroy();
        lease.release({ ok: true });
        resolve(`${lease.backend.id} ok`);
      });
      socket.once("error", () => {
        lease.release({ ok: false });
        resolve(`${lease.backend.id} failed`);
      });
    });

  await closeServer(flaky);
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) outcomes.push(await oneConnection());
  assert.equal(outcomes.filter((o) => o === "flaky failed").length, 2, outcomes.join(", "));
  assert.deepEqual(outcomes.slice(-4), ["live ok", "live ok", "live ok", "live ok"]);

  flaky = await listenTcp(flakyPort);
  await waitFor("the suspension to end", () => pool.get("flaky")!.available);
  const after: string[] = [];
  for (let i = 0; i < 4; i++) after.push(await oneConnection());
  assert.ok(after.includes("flaky ok"), after.join(", "));
});
