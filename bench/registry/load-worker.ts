/**
 * The worker thread of load.ts: `total` instances registered or renewed from `concurrency`
 * loops over keep-alive connections with undici's default settings, as instances use them
 * (the admin API's keep-alive outlasts undici's margin, so connections are reused).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Pool } from "undici";
import type { LoadJob } from "./load.js";
import { rate } from "./stats.js";

/** The registration of instance i. */
function registration(i: number) {
  return { address: `10.0.${(i >> 8) & 255}.${i & 255}:8080`, id: `i${i}`, ttl: "10m" };
}

/** Call number `call`: registrations spread over the services, renewals over the instances. */
function callOf(job: LoadJob, call: number): { path: string; body?: string } {
  const { kind, instances, batch, services } = job;
  if (batch > 1) {
    const items = Array.from({ length: batch }, (_, k) => call * batch + k);
    const body =
      kind === "register"
        ? // New instances, after the ones registered one by one.
          {
            register: items.map((i) => ({
              service: `s${i % services}`,
              ...registration(instances + i),
            })),
          }
        : { renew: items.map((i) => ({ service: `s${i % services}`, id: `i${i % instances}` })) };
    return { path: "/api/registry/batch", body: JSON.stringify(body) };
  }
  if (kind === "register") {
    return {
      path: `/api/registry/services/s${call % services}/instances`,
      body: JSON.stringify(registration(call)),
    };
  }
  return {
    path: `/api/registry/services/s${call % services}/instances/i${call % instances}/renew`,
  };
}

async function runLoad(job: LoadJob): Promise<number> {
  const pool = new Pool(job.base, { connections: job.concurrency, pipelining: 1 });
  const calls = Math.ceil(job.total / job.batch);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < calls) {
        const { path, body } = callOf(job, next++);
        const answer = await pool.request({
          method: "POST",
          path,
          body,
          headers: {
            authorization: `Bearer ${job.token}`,
            ...(body && { "content-type": "application/json" }),
          },
        });
        const text = await answer.body.text();
        if (answer.statusCode >= 300) throw new Error(`${path}: ${answer.statusCode}`);
        // A batch answers 200 with a refusal per item; a bench that counted those would lie.
        if (job.batch > 1 && text.includes('"error"')) {
          throw new Error(`${path}: items refused: ${text.slice(0, 300)}`);
        }
      }
    }),
  );
  const result = rate(job.total, started);
  await pool.close();
  return result;
}

parentPort?.postMessage(await runLoad(workerData as LoadJob));
