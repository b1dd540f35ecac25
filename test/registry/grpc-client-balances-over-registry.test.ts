/**
 * grpc-js with the `ballast:///SERVICE` resolver and the "ballast" policy, with real
 * processes: a registry, three grpc-js instance processes that register and heartbeat, and a
 * grpc-js client whose only change is its target string. Instances are killed, a heartbeat
 * paused and the registry stopped: no idempotent call fails while an instance is up (but for
 * one cut by the kill after its answer had begun), a paused
 * instance stops getting calls once its lease ends, and the client (and a channel created
 * while the registry is down, from the snapshot file) keeps serving.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { registerBallastResolver } from "../../src/registry/client/index.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { ECHO_NAME, ECHO_SERVICE } from "./fixtures/grpc-echo.js";
import { listed, startInstance, startRegistry, stop } from "./fixtures/registry-processes.js";

const TOKEN = "registry-grpc-token";
const TTL_MS = 1500;
const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");

type Echo = InstanceType<typeof EchoClient> & {
  Hello(
    request: object,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, answer?: { name: string }) => void,
  ): void;
};

/** A failed call, and whether its answer had begun (response headers) before it failed. */
class CallFailure extends Error {
  constructor(
    readonly error: grpc.ServiceError,
    readonly answerBegun: boolean,
  ) {
    super(error.message);
  }
}

/**
 * One Hello. It notes whether the response headers arrived: gRPC commits a call then (the
 * retry design, gRFC A6), so a call whose instance dies between its headers and its trailers
 * fails even when idempotent. grpc-js's server writes a unary answer's trailers one turn of
 * its event loop after the headers and message, so a SIGKILL can land in that window.
 */
function hello(client: Echo): Promise<string> {
  let answerBegun = false;
  const noteHeaders: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveMetadata(received, nextMetadata) {
            answerBegun = true;
            nextMetadata(received);
          },
        });
      },
    });
  return new Promise((resolve, reject) => {
    client.Hello(
      {},
      { deadline: Date.now() + 5000, interceptors: [noteHeaders] },
      (error, answer) =>
        error ? reject(new CallFailure(error, answerBegun)) : resolve(answer!.name),
    );
  });
}

test("a grpc-js client with a ballast:/// target loses no idempotent call through kills, paused heartbeats and a registry outage", {
  timeout: 90_000,
}, async (t) => {
  const dir = tempDir("ballast-registry-grpc-");
  const adminPort = await freePort();
  const registryUrl = `http://127.0.0.1:${adminPort}`;
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(children.map((c) => stop(c, "SIGKILL")));
    dir.cleanup();
  });

  let registry = await startRegistry(dir.path, adminPort, TOKEN);
  children.push(registry);
  const instances = new Map<string, ChildProcess>();
  for (const name of ["i1", "i2", "i3"]) {
    const child = await startInstance("grpc-instance-process.js", {
      registry: registryUrl,
      token: TOKEN,
      service: "api",
      name,
      ttlMs: TTL_MS,
    });
    instances.set(name, child);
    children.push(child);
  }

  registerBallastResolver({
    registry: registryUrl,
    token: TOKEN,
    algorithm: "ewma",
    idempotent: [ECHO_NAME],
    snapshotFile: join(dir.path, "api.snapshot.json"),
    idleTimeoutMs: 3000,
  });
  const client = new EchoClient("ballast:///api", grpc.credentials.createInsecure()) as Echo;
  t.after(() => client.close());

  const served = new Map<string, number>();
  const failures: string[] = [];
  // Calls cut by the SIGKILL after their answer had begun: committed, so not retried.
  const cutMidAnswer: string[] = [];
  // What the test is doing now, written beside each failure so a failure says when it came.
  let phase = "start";
  let running = true;
  t.after(() => {
    running = false;
  });
  const callers = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const name = await hello(client);
        served.set(name, (served.get(name) ?? 0) + 1);
      } catch (error) {
        const failure = error as CallFailure;
        const committed = failure.answerBegun && failure.error.code === grpc.status.UNAVAILABLE;
        if (committed && phase === "i1 killed") cutMidAnswer.push(failure.message);
        else failures.push(`${phase}: ${failure.message}`);
        await new Promise((r) => setImmediate(r));
      }
    }
  });
  const total = () => [...served.values()].reduce((a, b) => a + b, 0);
  const progress = async (what: string, calls = 50) => {
    const target = total() + calls;
    await waitFor(what, () => total() >= target, 20_000, 20);
  };
  await waitFor("every instance to serve", () => served.size === 3, 20_000, 20);

  // Kill one outright: its calls in flight are retried on another (all but those whose answer
  // had begun, which gRPC has committed); its lease runs out.
  phase = "i1 killed";
  await stop(instances.get("i1")!, "SIGKILL");
  await waitFor(
    "i1 to leave the registry",
    async () => !(await listed(registryUrl, TOKEN, "api")).includes("i1"),
    10_000,
    50,
  );
  await progress("calls after the kill");

  // Pause another's heartbeat: once its lease ends, it gets no more calls.
  phase = "i2 paused";
  instances.get("i2")!.stdin!.write("pause\n");
  await waitFor(
    "i2 to leave the registry",
    async () => !(await listed(registryUrl, TOKEN, "api")).includes("i2"),
    10_000,
    50,
  );
  await sleep(300);
  await progress("calls with one instance listed", 20);
  const i2Before = served.get("i2") ?? 0;
  const i3Before = served.get("i3") ?? 0;
  await progress("more calls with one instance listed");
  assert.equal(served.get("i2") ?? 0, i2Before, "no call goes to an instance whose lease ended");
  assert.ok((served.get("i3") ?? 0) > i3Before);

  // Stop the registry: the channel keeps its list and keeps serving.
  phase = "registry stopped";
  instances.get("i2")!.stdin!.write("resume\n");
  await stop(registry);
  await progress("calls while the registry is down");

  // A channel created now, with no registry, serves from the snapshot file.
  const cold = new EchoClient("ballast:///api", grpc.credentials.createInsecure()) as Echo;
  t.after(() => cold.close());
  assert.equal(await hello(cold), "i3");

  // The registry comes back empty; the instances register again and the channel follows.
  phase = "registry restarted";
  registry = await startRegistry(dir.path, adminPort, TOKEN);
  children.push(registry);
  await waitFor(
    "i2 and i3 to register again",
    async () => (await listed(registryUrl, TOKEN, "api")).join() === "i2,i3",
    15_000,
    50,
  );
  await waitFor("i2 to serve again", () => (served.get("i2") ?? 0) > i2Before, 15_000, 20);
  await progress("calls after the registry's return");

  running = false;
  await Promise.all(callers);
  console.log(`calls cut by the SIGKILL after their answer had begun: ${cutMidAnswer.length}`);
  assert.deepEqual(failures, [], "no idempotent call failed while an instance was up");
  assert.ok(
    cutMidAnswer.length <= 4,
    "at most the calls in flight on i1 (one per caller) were cut",
  );
});
