/**
 * The "ballast" grpc-js policy balances with ballast's pool: a channel prefers instances of
 * its zone and fails over to another zone when they go, and under peak EWMA an instance whose
 * errors come back fast gets less traffic, not more (a failed call counts as slow).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { registerBallastResolver } from "../../src/registry/client/index.js";
import {
  adminCall,
  httpConfigYaml,
  type Stack,
  startBackends,
  startStack,
} from "../control/helpers.js";
import { ECHO_NAME, ECHO_SERVICE } from "./fixtures/grpc-echo.js";

const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
type Echo = InstanceType<typeof EchoClient> & {
  Hello(
    request: object,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, answer?: { name: string }) => void,
  ): void;
};

async function registryStack(): Promise<Stack> {
  const backends = await startBackends(1);
  const yaml = httpConfigYaml({ pools: { web: { backends } }, defaultPool: "web", admin: {} });
  await Promise.all(backends.map((b) => b.close()));
  return startStack(`${yaml}registry:\n  self_preservation: false\n`);
}

/** An in-process grpc-js server whose Hello runs `answer`, registered in `service`. */
async function instance(
  stack: Stack,
  service: string,
  name: string,
  zone: string,
  answer: (callback: grpc.sendUnaryData<{ name: string }>) => void,
): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    Hello: (_call: unknown, callback: grpc.sendUnaryData<{ name: string }>) => answer(callback),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const registered = await adminCall(stack, "POST", `/api/registry/services/${service}/instances`, {
    address: `127.0.0.1:${port}`,
    id: name,
    zone,
    ttl: "5m",
  });
  assert.equal(registered.status, 201);
  return server;
}

function hello(client: Echo): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Hello({}, { deadline: Date.now() + 5000 }, (error, answer) =>
      error ? reject(error) : resolve(answer!.name),
    ),
  );
}

test("a ballast:/// channel prefers its zone and fails over to another when its zone goes", async (t) => {
  const stack = await registryStack();
  t.after(() => stack.stop());
  const near = await instance(stack, "zoned", "near", "eu-1", (cb) => cb(null, { name: "near" }));
  const far = await instance(stack, "zoned", "far", "eu-2", (cb) => cb(null, { name: "far" }));
  t.after(() => {
    near.forceShutdown();
    far.forceShutdown();
  });
  registerBallastResolver({
    registry: stack.adminUrl,
    token: stack.token,
    zone: "eu-1",
    idempotent: [ECHO_NAME],
  });
  const client = new EchoClient("ballast:///zoned", grpc.credentials.createInsecure()) as Echo;
  t.after(() => client.close());
  const answers: string[] = [];
  for (let i = 0; i < 20; i++) answers.push(await hello(client));
  assert.deepEqual(new Set(answers), new Set(["near"]), "only the channel's zone serves");
  near.forceShutdown();
  const after: string[] = [];
  for (let i = 0; i < 20; i++) after.push(await hello(client));
  assert.deepEqual(new Set(after), new Set(["far"]), "the other zone takes over, no call lost");
});

test("under peak EWMA an instance that fails fast gets less traffic, not more", async (t) => {
  const stack = await registryStack();
  t.after(() => stack.stop());
  // The good one answers in 5 ms; the bad one fails at once, which would look fastest.
  const good = await instance(stack, "mixed", "good", "a", (cb) =>
    setTimeout(() => cb(null, { name: "good" }), 5),
  );
  const bad = await instance(stack, "mixed", "bad", "a", (cb) =>
    cb({ code: grpc.status.INTERNAL, details: "broken" }),
  );
  t.after(() => {
    good.forceShutdown();
    bad.forceShutdown();
  });
  registerBallastResolver({ registry: stack.adminUrl, token: stack.token, algorithm: "ewma" });
  const client = new EchoClient("ballast:///mixed", grpc.credentials.createInsecure()) as Echo;
  t.after(() => client.close());
  let failed = 0;
  let served = 0;
  for (let i = 0; i < 200; i++) {
    try {
      await hello(client);
      served++;
    } catch {
      failed++;
    }
  }
  assert.ok(served + failed === 200);
  assert.ok(failed < 40, `the fast-failing instance got ${failed} of 200 calls`);
});
