/**
 * The registry kept in etcd (`registry: { storage: { etcd } }`), shared by several real
 * `ballast start` nodes on a real 3-member etcd cluster on loopback: an instance registered
 * on one node is seen and watched from the others, with the same index (etcd's revision); a
 * lease that runs out in etcd takes the instance out of every node's watchers; and clients
 * lose no call while a ballast node and an etcd member stop under them.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { fetch } from "undici";
import {
  InstanceHeartbeat,
  type InstanceView,
  RegistryDispatcher,
  ServiceWatch,
} from "../../src/registry/client/index.js";
import { type BallastProcess, startBallast } from "../support/ballast-start.js";
import { runCleanups } from "../support/cleanups.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { type EtcdCluster, startEtcdCluster } from "./etcd-cluster.js";

const TOKEN = "etcd-registry-test-token";
const cleanups: (() => Promise<void> | void)[] = [];
let cluster: EtcdCluster;
let dir: { path: string; cleanup(): void };

before(async () => {
  dir = tempDir("registry-etcd");
  cleanups.push(() => dir.cleanup());
  cluster = await startEtcdCluster(3);
  cleanups.push(() => cluster.stop());
});
after(() => runCleanups(cleanups));

interface Node {
  url: string;
  process: BallastProcess;
}

/** Starts a `ballast start` node whose registry lives in the cluster under `prefix`. */
async function startNode(name: string, prefix: string, registryExtra = ""): Promise<Node> {
  const adminPort = await freePort();
  const file = `${dir.path}/${name}.yaml`;
  writeFileSync(
    file,
    [
      "listeners:",
      "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: none, access_log: false }",
      "pools:",
      "  none: { backends: [] }",
      `admin: { bind: '127.0.0.1:${adminPort}', token: '${TOKEN}' }`,
      "registry:",
      "  ping_interval: 1s",
      `  storage: { etcd: { endpoints: [${cluster.endpoints.map((e) => `'${e}'`).join(", ")}], prefix: '${prefix}', timeout: 1s } }`,
      registryExtra,
      "log: { level: warn }",
      "",
    ].join("\n"),
  );
  const process = startBallast(file);
  cleanups.push(() => process.kill());
  const url = `http://127.0.0.1:${adminPort}`;
  await waitFor(
    `registry node ${name} to answer`,
    async () => {
      if (process.exitCode !== undefined) {
        throw new Error(`${name} exited: ${JSON.stringify(process.logs.slice(-5))}`);
      }
      try {
        const r = await fetch(`${url}/api/registry/services`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        await r.body?.cancel();
        return r.status === 200;
      } catch {
        return false;
      }
    },
    20_000,
  );
  return { url, process };
}

/** An admin API call with the token; the answer's status and JSON body. */
async function call(
  node: Node,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: tests read the answers field by field
): Promise<{ status: number; body: any }> {
  const answer = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  return { status: answer.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** A watch of `service` on one node (the real client's event-stream watch), its lists as heard. */
function watchOn(node: Node, service: string): { ids(): string[]; close(): void } {
  let latest: InstanceView[] = [];
  const watch = new ServiceWatch(service, {
    registry: node.url,
    token: TOKEN,
    onUpdate: (instances) => {
      latest = instances;
    },
  });
  cleanups.push(() => watch.close());
  return { ids: () => latest.map((i) => i.id).sort(), close: () => watch.close() };
}

test("an instance registered on one node is seen and watched from the others, at the same index", {
  timeout: 60_000,
}, async (t) => {
  const prefix = "/t1/registry/";
  const nodes = [await startNode("a1", prefix), await startNode("b1", prefix)];
  const [a, b] = nodes;
  const streamOnB = watchOn(b, "api");
  const current = await call(b, "GET", "/api/registry/services/api");
  const poll = call(b, "GET", `/api/registry/services/api?index=${current.body.index}&wait=20s`);

  const startedAt = Date.now();
  const registered = await call(a, "POST", "/api/registry/services/api/instances", {
    address: "127.0.0.1:7001",
    id: "api-1",
    zone: "z1",
    metadata: { version: "2" },
    ttl: "30s",
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  await waitFor("node B's event stream to hear of api-1", () => streamOnB.ids().includes("api-1"));
  const woke = await poll;
  const tookMs = Date.now() - startedAt;
  assert.deepEqual(
    woke.body.instances.map((i: InstanceView) => i.id),
    ["api-1"],
    "node B's long-poll woke with the registration made on node A",
  );
  assert.ok(woke.body.index > current.body.index);
  t.diagnostic(`registration on node A reached node B's watchers in ${tookMs} ms`);

  // Both nodes show the same instance at the same index: the etcd revision of the change.
  const onA = await call(a, "GET", "/api/registry/services/api");
  const onB = await call(b, "GET", "/api/registry/services/api");
  assert.equal(onA.body.index, onB.body.index);
  assert.equal(onB.body.instances[0].zone, "z1");
  assert.deepEqual(onB.body.instances[0].metadata, { version: "2" });

  // Renewing on B, deregistering on A: both see each other's work.
  const renewed = await call(b, "POST", "/api/registry/services/api/instances/api-1/renew");
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  const gone = await call(a, "DELETE", "/api/registry/services/api/instances/api-1");
  assert.equal(gone.status, 200);
  await waitFor("node B's event stream to hear api-1 leave", () => streamOnB.ids().length === 0);
  const late = await call(b, "POST", "/api/registry/services/api/instances/api-1/renew");
  assert.equal(late.status, 404, "a deregistered instance must register again");

  // A node started now loads what the cluster holds.
  await call(b, "POST", "/api/registry/services/api/instances", {
    address: "127.0.0.1:7002",
    ttl: "30s",
  });
  const c = await startNode("c1", prefix);
  const onC = await call(c, "GET", "/api/registry/services/api");
  assert.deepEqual(
    onC.body.instances.map((i: InstanceView) => i.id),
    ["127.0.0.1:7002"],
  );
  for (const node of [a, b, c]) await node.process.kill();
});

test("a lease that runs out in etcd takes the instance out of every node's watchers", {
  timeout: 60_000,
}, async () => {
  const prefix = "/t2/registry/";
  const nodes = [
    await startNode("a2", prefix, "  self_preservation: false"),
    await startNode("b2", prefix, "  self_preservation: false"),
    await startNode("c2", prefix, "  self_preservation: false"),
  ];
  const watches = nodes.map((node) => watchOn(node, "api"));
  const base = "/api/registry/services/api/instances";
  assert.equal(
    (await call(nodes[0], "POST", base, { address: "127.0.0.1:7001", ttl: "1s" })).status,
    201,
  );
  assert.equal(
    (await call(nodes[1], "POST", base, { address: "127.0.0.1:7002", ttl: "1m" })).status,
    201,
  );
  await waitFor("every node's watchers to see both", () =>
    watches.every((w) => w.ids().length === 2),
  );
  // 7001 never renews: etcd deletes its key when the lease ends, and every node hears it.
  await waitFor(
    "every node's watchers to see 127.0.0.1:7001 leave",
    () => watches.every((w) => w.ids().join() === "127.0.0.1:7002"),
    10_000,
  );
  const late = await call(nodes[2], "POST", `${base}/127.0.0.1%3A7001/renew`);
  assert.equal(late.status, 404, "an expired lease must register again");
  for (const node of nodes) await node.process.kill();
});

test("self-preservation keeps leases that ran out at once in every node's view, and says so", {
  timeout: 60_000,
}, async () => {
  const preservation =
    "  self_preservation: { share: 0.5, window: 10s, keep_for: 1m, min_instances: 3 }";
  const nodes = [
    await startNode("a4", "/t4/registry/", preservation),
    await startNode("b4", "/t4/registry/", preservation),
  ];
  const base = "/api/registry/services/api/instances";
  for (const port of [7001, 7002, 7003, 7004]) {
    const answer = await call(nodes[port % 2], "POST", base, {
      address: `127.0.0.1:${port}`,
      ttl: port === 7001 ? "1m" : "2s",
    });
    assert.equal(answer.status, 201);
  }
  // Three of four leases end together in etcd: a partition, not three failures.
  for (const node of nodes) {
    await waitFor(
      "the node to keep three expired instances",
      async () => {
        const read = await call(node, "GET", "/api/registry/services/api");
        return read.body.instances.filter((i: InstanceView) => i.expired).length === 3;
      },
      10_000,
    );
    const read = await call(node, "GET", "/api/registry/services/api");
    assert.equal(read.body.preserving, true);
    assert.equal(read.body.instances.length, 4, "all kept");
  }
  // etcd holds no kept instance: a renewal says "register again", and registering makes it
  // live on every node.
  const renewed = await call(nodes[0], "POST", `${base}/127.0.0.1%3A7002/renew`);
  assert.equal(renewed.status, 404);
  await call(nodes[0], "POST", base, { address: "127.0.0.1:7002", ttl: "1m" });
  // A kept instance that leaves on purpose leaves every node's view.
  assert.equal((await call(nodes[1], "DELETE", `${base}/127.0.0.1%3A7003`)).status, 200);
  for (const node of nodes) {
    await waitFor("the node to show the re-registration and the leave", async () => {
      const read = await call(node, "GET", "/api/registry/services/api");
      const ids = read.body.instances.map((i: InstanceView) => `${i.id}${i.expired ? "!" : ""}`);
      return ids.sort().join() === "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7004!";
    });
  }
  for (const node of nodes) await node.process.kill();
});

test("keys in etcd that are not valid instances are ignored, not served", {
  timeout: 60_000,
}, async () => {
  const prefix = "/t5/registry/";
  const { Etcd3 } = await import("etcd3");
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  cleanups.push(() => etcd.close());
  const good = { host: "127.0.0.1", port: 7001, weight: 1, metadata: {}, ttlMs: 60_000 };
  await etcd.put(`${prefix}instances/api/not-json`).value("{");
  await etcd.put(`${prefix}instances/api/bad-host`).value(JSON.stringify({ ...good, host: "a/b" }));
  await etcd.put(`${prefix}instances/api/bad-port`).value(JSON.stringify({ ...good, port: 70000 }));
  await etcd
    .put(`${prefix}instances/api/bad-meta`)
    .value(JSON.stringify({ ...good, metadata: { "x\n": 1 } }));
  await etcd.put(`${prefix}instances/api/too/deep`).value(JSON.stringify(good));
  await etcd.put(`${prefix}instances/api/good`).value(JSON.stringify(good));
  const node = await startNode("a5", prefix);
  const read = await call(node, "GET", "/api/registry/services/api");
  assert.deepEqual(
    read.body.instances.map((i: InstanceView) => i.id),
    ["good"],
  );
  // Also when they arrive through the watch.
  await etcd.put(`${prefix}instances/api/late-bad`).value(JSON.stringify({ ...good, weight: -1 }));
  await etcd.put(`${prefix}instances/api/late-good`).value(JSON.stringify(good));
  await waitFor("the late good key", async () => {
    const again = await call(node, "GET", "/api/registry/services/api");
    return again.body.instances.length === 2;
  });
  const again = await call(node, "GET", "/api/registry/services/api");
  assert.deepEqual(again.body.instances.map((i: InstanceView) => i.id).sort(), [
    "good",
    "late-good",
  ]);
  await node.process.kill();
});

test("clients lose no call while a ballast node and an etcd member stop", {
  timeout: 120_000,
}, async () => {
  const prefix = "/t3/registry/";
  const nodes = [
    await startNode("a3", prefix),
    await startNode("b3", prefix),
    await startNode("c3", prefix),
  ];
  const urls = nodes.map((n) => n.url);

  // Three instances: real HTTP servers, each registered and heartbeating through the nodes.
  const servers: Server[] = [];
  const heartbeats: InstanceHeartbeat[] = [];
  for (const name of ["i1", "i2", "i3"]) {
    const server = createServer((req, res) => {
      req.resume();
      res.end(name);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const heartbeat = new InstanceHeartbeat({
      // Each instance starts with a different node, so registrations and renewals spread.
      registry: [...urls.slice(servers.length - 1), ...urls.slice(0, servers.length - 1)],
      token: TOKEN,
      service: "api",
      id: name,
      address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      ttlMs: 3000,
    });
    await heartbeat.start();
    heartbeats.push(heartbeat);
    cleanups.push(() => heartbeat.stop());
  }
  // The client watches node A first: the node that will be stopped.
  const dispatcher = new RegistryDispatcher({
    registry: urls,
    token: TOKEN,
    services: ["api"],
    idleTimeoutMs: 3000,
  });
  cleanups.push(() => dispatcher.close());
  const pool = dispatcher.balancer("api")!.pool;
  await waitFor("the client to see three instances", () => pool.size === 3, 10_000);

  const served = new Map<string, number>();
  const failures: string[] = [];
  let running = true;
  const callers = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const response = await fetch("http://api/hello", { dispatcher });
        const text = await response.text();
        if (response.status !== 200) failures.push(`status ${response.status}`);
        else served.set(text, (served.get(text) ?? 0) + 1);
      } catch (error) {
        failures.push(String((error as Error).cause ?? error));
        await new Promise((r) => setImmediate(r));
      }
    }
  });
  cleanups.push(async () => {
    running = false;
    await Promise.all(callers);
  });
  const total = () => [...served.values()].reduce((x, y) => x + y, 0);
  const progress = async (what: string, calls = 100) => {
    const target = total() + calls;
    await waitFor(what, () => total() >= target, 20_000);
  };
  await progress("calls to flow");

  // Stop ballast node A and one etcd member at once, in the middle of the calls.
  await Promise.all([nodes[0].process.kill(), cluster.members[0].daemon.stop()]);
  await progress("calls after the stops");
  // Leases outlive the stops: renewals go on through the other nodes and members, for
  // longer than two TTLs, and the instances stay listed on the remaining nodes.
  await new Promise((r) => setTimeout(r, 7000));
  await progress("calls two TTLs after the stops");
  for (const node of nodes.slice(1)) {
    const listed = await call(node, "GET", "/api/registry/services/api");
    assert.deepEqual(
      listed.body.instances.map((i: InstanceView) => i.id).sort(),
      ["i1", "i2", "i3"],
      "no lease was lost",
    );
  }
  // The client follows changes through a surviving node: an instance leaves and is heard.
  await heartbeats[2].stop();
  await waitFor("the client to hear i3 leave", () => pool.get("i3") === undefined, 10_000);
  await progress("calls after i3 left");

  running = false;
  await Promise.all(callers);
  assert.deepEqual(failures, [], "no call failed");
  assert.ok((served.get("i1") ?? 0) > 0 && (served.get("i2") ?? 0) > 0);
});
