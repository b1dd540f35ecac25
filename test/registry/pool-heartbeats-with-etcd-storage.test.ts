/**
 * Pool heartbeats with the registry kept in etcd: a backend that registers into pool P on one
 * node is an etcd-held instance of `pool:P`, so every node sharing the etcd puts it in its
 * pool P; a renewal through another node keeps it; etcd's own lease end takes it out of every
 * pool; a deregistration drains it out everywhere; and a heartbeat write that etcd cannot
 * take gets 503, as every registry write does (in a batch: the item's status), while the
 * pools keep what they have.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  adminCall,
  httpConfigYaml,
  type Stack,
  startBackends,
  startStack,
  type TestBackend,
} from "../control/helpers.js";
import { runCleanups } from "../support/cleanups.js";
import { waitFor } from "../support/wait.js";
import { type EtcdCluster, startEtcdCluster } from "./etcd-cluster.js";

const cleanups: (() => Promise<void> | void)[] = [];
let cluster: EtcdCluster;
let backends: TestBackend[];

before(async () => {
  cluster = await startEtcdCluster(1);
  cleanups.push(() => cluster.stop());
  backends = await startBackends(2);
  cleanups.push(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });
});
after(() => runCleanups(cleanups));

/** An in-process node with pool `api` (one configured backend) and its registry in the etcd. */
async function startNode(): Promise<Stack> {
  const yaml = httpConfigYaml({
    pools: { api: { backends: [backends[0]] } },
    defaultPool: "api",
    admin: {},
  });
  const endpoints = cluster.endpoints.map((e) => `'${e}'`).join(", ");
  const stack = await startStack(
    `${yaml}registry:\n  min_ttl: 1s\n  self_preservation: false\n  storage: { etcd: { endpoints: [${endpoints}], prefix: '/heartbeats/', timeout: 1s } }\n`,
  );
  // Before the cluster stops (cleanups run last to first).
  cleanups.push(() => stack.stop());
  return stack;
}

test("pool heartbeats are kept in etcd, shared by every node, and refused with 503 when etcd cannot take them", async () => {
  const [a, b] = [await startNode(), await startNode()];
  const poolA = a.runtime.pools.get("api")!;
  const poolB = b.runtime.pools.get("api")!;
  const register = (node: Stack, ttl: string) =>
    adminCall(node, "POST", "/api/pools/api/heartbeats", {
      address: backends[1].address,
      name: "beat",
      ttl,
    });

  // Registered on A: in A's pool when the call answers, in B's through etcd's watch.
  const registered = await register(a, "2s");
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  assert.equal(poolA.get("beat")?.source, "registry");
  await waitFor("node B's pool to have the heartbeat backend", () => !!poolB.get("beat"), 5000);
  assert.equal(poolB.get("beat")?.source, "registry");
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await (await fetch(`${b.webUrl}/x`)).text());
  assert.equal(seen.size, 2, "node B serves from the backend registered on node A");

  // Renewed through B (the backend moved to the other node): a lease in etcd, kept.
  const renewed = await adminCall(b, "POST", "/api/pools/api/heartbeats/beat/renew");
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  assert.ok(renewed.body.expiresAt > Date.now(), "the answer says until when");
  const listed = await adminCall(a, "GET", "/api/heartbeats");
  assert.deepEqual(
    listed.body.map((l: { pool: string; id: string }) => `${l.pool}/${l.id}`),
    ["api/beat"],
  );

  // No more renewals: etcd ends the lease, and every node's pool lets the backend go.
  await waitFor(
    "etcd's lease end to take the backend out of both pools",
    () => poolA.get("beat") === undefined && poolB.get("beat") === undefined,
    10_000,
  );
  const late = await adminCall(a, "POST", "/api/pools/api/heartbeats/beat/renew");
  assert.equal(late.status, 404, "a lease that ran out must register again");

  // Registered again, then deregistered on B: it drains out of both pools.
  assert.equal((await register(a, "1m")).status, 201);
  await waitFor("node B to have it again", () => !!poolB.get("beat"), 5000);
  const left = await adminCall(b, "DELETE", "/api/pools/api/heartbeats/beat");
  assert.equal(left.status, 200, JSON.stringify(left.body));
  await waitFor(
    "the deregistration to reach both pools",
    () => poolA.get("beat") === undefined && poolB.get("beat") === undefined,
    5000,
  );

  // A batch through the admin API waits for etcd's answer to each item.
  const batch = await adminCall(a, "POST", "/api/registry/batch", {
    register: [{ service: "pool:api", address: backends[1].address, id: "beat", ttl: "1m" }],
  });
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  assert.equal(batch.body.registered[0].id, "beat", JSON.stringify(batch.body));
  assert.ok(batch.body.registered[0].expiresAt > Date.now());

  // etcd gone: heartbeat writes are refused with 503; the pools keep what they have.
  await waitFor("node B to have it once more", () => !!poolB.get("beat"), 5000);
  await Promise.all(cluster.members.map((m) => m.daemon.stop()));
  const renewal = await adminCall(a, "POST", "/api/pools/api/heartbeats/beat/renew");
  assert.equal(renewal.status, 503, JSON.stringify(renewal.body));
  assert.match(renewal.body.error, /etcd/);
  const registration = await register(b, "1m");
  assert.equal(registration.status, 503, JSON.stringify(registration.body));
  const refused = await adminCall(b, "POST", "/api/registry/batch", {
    renew: [{ service: "pool:api", id: "beat" }],
  });
  assert.equal(refused.status, 200, "a batch answers each item on its own");
  assert.equal(refused.body.renewed[0].status, 503, JSON.stringify(refused.body));
  assert.ok(poolA.get("beat") && poolB.get("beat"), "the pools keep the backend meanwhile");
  assert.deepEqual(
    poolA.backends.map((x) => x.id).sort(),
    ["b1", "beat"],
    "configured backends are never touched",
  );
});
