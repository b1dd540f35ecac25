/**
 * The registry on the admin API: instances register with a lease and renew it; an unrenewed
 * lease takes the instance out promptly; a long-poll with an index wakes on the next change;
 * an event stream gets a snapshot, then deltas; state changes need the admin token.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import type { InstanceView } from "../../src/registry/client/wire.js";
import { adminCall, httpConfigYaml, startBackends, startStack } from "../control/helpers.js";
import { waitFor } from "../support/wait.js";

function registryYaml(extra = ""): Promise<string> {
  return startBackends(1).then((backends) => {
    const yaml = httpConfigYaml({ pools: { web: { backends } }, defaultPool: "web", admin: {} });
    void Promise.all(backends.map((b) => b.close()));
    return `${yaml}registry:\n  min_ttl: 50\n${extra}`;
  });
}

/** Opens an event stream and collects its events. */
function openStream(url: string, token: string | undefined) {
  // biome-ignore lint/suspicious/noExplicitAny: tests read the events field by field
  const events: { event: string; data: any }[] = [];
  let buffer = "";
  const req = request(
    url,
    { headers: token ? { authorization: `Bearer ${token}` } : {} },
    (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf("\n\n");
        }
      });
    },
  );
  req.on("error", () => {});
  req.end();
  return { events, close: () => req.destroy() };
}

test("an instance registers, renews, and leaves promptly when its lease runs out", async (t) => {
  const stack = await startStack(await registryYaml("  self_preservation: false\n"));
  t.after(() => stack.stop());
  const base = "/api/registry/services/api/instances";
  const registered = await adminCall(stack, "POST", base, {
    address: "127.0.0.1:7001",
    id: "api-1",
    zone: "a",
    metadata: { version: "2" },
    ttl: "1s",
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const read = await adminCall(stack, "GET", "/api/registry/services/api");
  assert.equal(read.body.instances.length, 1);
  assert.deepEqual(read.body.instances[0].metadata, { version: "2" });
  assert.equal(read.body.instances[0].zone, "a");

  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const renewed = await adminCall(stack, "POST", `${base}/api-1/renew`);
    assert.equal(renewed.status, 200, "a live lease renews");
  }
  const expiredAt = Date.now() + 1000;
  await waitFor(
    "the lease to run out",
    () => stack.runtime.registry!.store.snapshot("api").instances.length === 0,
    3000,
  );
  // Prompt: collected within a sweep floor of its expiry, not a sweep interval later.
  assert.ok(Date.now() - expiredAt < 1000);
  const late = await adminCall(stack, "POST", `${base}/api-1/renew`);
  assert.equal(late.status, 404, "an expired lease must register again");
});

test("a long-poll with the current index wakes on the next change; a stream gets the delta", async (t) => {
  const stack = await startStack(await registryYaml());
  t.after(() => stack.stop());
  const base = "/api/registry/services/api/instances";
  await adminCall(stack, "POST", base, { address: "127.0.0.1:7001", ttl: "1m" });
  const first = await adminCall(stack, "GET", "/api/registry/services/api");
  const index = first.body.index as number;
  assert.ok(index > 0);

  const stream = openStream(`${stack.adminUrl}/api/registry/services/api/events`, stack.token);
  t.after(() => stream.close());
  await waitFor("the stream's snapshot", () => stream.events.length === 1);
  assert.equal(stream.events[0].event, "snapshot");
  assert.equal(stream.events[0].data.instances.length, 1);

  const started = Date.now();
  const poll = adminCall(stack, "GET", `/api/registry/services/api?index=${index}&wait=20s`);
  await new Promise((r) => setTimeout(r, 100));
  await adminCall(stack, "POST", base, { address: "127.0.0.1:7002", ttl: "1m" });
  const woke = await poll;
  assert.ok(Date.now() - started < 10_000, "the long-poll answered on the change, not at its wait");
  assert.equal(woke.body.instances.length, 2);
  assert.ok(woke.body.index > index);

  await waitFor("the stream's delta", () => stream.events.length === 2);
  assert.equal(stream.events[1].event, "change");
  assert.deepEqual(
    stream.events[1].data.upserted.map((i: InstanceView) => i.id),
    ["127.0.0.1:7002"],
  );

  await adminCall(stack, "DELETE", `${base}/127.0.0.1%3A7001`);
  await waitFor("the removal delta", () => stream.events.length === 3);
  assert.deepEqual(stream.events[2].data.removed, ["127.0.0.1:7001"]);

  // An index from before a registry restart (larger than any now) answers at once.
  const future = await adminCall(stack, "GET", "/api/registry/services/api?index=999999&wait=20s");
  assert.equal(future.status, 200);
});

test("registering needs the admin token, and bad registrations get a 400", async (t) => {
  const stack = await startStack(await registryYaml());
  t.after(() => stack.stop());
  const base = "/api/registry/services/api/instances";
  const anonymous = await adminCall(
    stack,
    "POST",
    base,
    { address: "127.0.0.1:7001", ttl: "1m" },
    null,
  );
  assert.equal(anonymous.status, 401);
  for (const body of [
    { address: "127.0.0.1:7001" },
    { address: "127.0.0.1:7001", ttl: "1ms" },
    { address: "127.0.0.1:7001", ttl: "1m", metadata: { "bad key\n": "x" } },
    { address: "127.0.0.1:7001", ttl: "1m", id: "a/b" },
  ]) {
    const answer = await adminCall(stack, "POST", base, body);
    assert.equal(answer.status, 400, JSON.stringify(body));
  }
  const badIndex = await adminCall(stack, "GET", "/api/registry/services/api?index=-1");
  assert.equal(badIndex.status, 400);
});

test("self-preservation keeps instances when most leases run out at once, and says so", async (t) => {
  const stack = await startStack(
    await registryYaml(
      "  self_preservation: { share: 0.5, window: 10s, keep_for: 1m, min_instances: 3 }\n",
    ),
  );
  t.after(() => stack.stop());
  const base = "/api/registry/services/api/instances";
  for (const port of [7001, 7002, 7003, 7004]) {
    await adminCall(stack, "POST", base, {
      address: `127.0.0.1:${port}`,
      ttl: port === 7001 ? "1m" : "1s",
    });
  }
  const store = stack.runtime.registry!.store;
  await waitFor(
    "the leases to run out",
    () => store.leases("api").filter((i) => i.expired).length === 3,
    6000,
  );
  const read = await adminCall(stack, "GET", "/api/registry/services/api");
  assert.equal(read.body.preserving, true);
  assert.equal(
    read.body.instances.length,
    4,
    "three of four expiring at once is a partition: all kept",
  );
  assert.equal(read.body.instances.filter((i: InstanceView) => i.expired).length, 3);
  const renewed = await adminCall(stack, "POST", `${base}/127.0.0.1%3A7002/renew`);
  assert.equal(renewed.status, 200, "a kept instance that renews is live again");
  const after = await adminCall(stack, "GET", "/api/registry/services/api");
  assert.equal(after.body.instances.filter((i: InstanceView) => i.expired).length, 2);
});

test("without self-preservation pressure, one lost instance of four leaves", async (t) => {
  const stack = await startStack(await registryYaml());
  t.after(() => stack.stop());
  const base = "/api/registry/services/api/instances";
  for (const port of [7001, 7002, 7003, 7004]) {
    await adminCall(stack, "POST", base, {
      address: `127.0.0.1:${port}`,
      ttl: port === 7004 ? "200ms" : "1m",
    });
  }
  await waitFor(
    "the lease to run out",
    () => stack.runtime.registry!.store.snapshot("api").instances.length === 3,
    3000,
  );
  assert.equal(stack.runtime.registry!.store.preserving("api"), false);
});
