/**
 * The registry's storages alone, with no HTTP: what the memory store's data structure costs,
 * and what etcd's round trips cost (a registration is a lease grant and a put, a renewal a
 * lease keep-alive).
 */
import { EtcdRegistryStore } from "../../src/registry/etcd-store.js";
import { RegistryStore } from "../../src/registry/store.js";
import { rate } from "./stats.js";

/** Registrations and renewals per second. */
export interface StoreRates {
  registrations: number;
  renewals: number;
}

/** The memory store: 200,000 registrations, then as many renewals, in one thread. */
export function memoryStoreRates(services: number): StoreRates {
  const store = new RegistryStore({ maxInstances: 1_000_000 });
  const count = 200_000;
  let started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    store.register(`s${i % services}`, {
      host: "10.0.0.1",
      port: 1 + (i % 60000),
      id: `i${i}`,
      ttlMs: 60_000,
    });
  }
  const registrations = rate(count, started);
  started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) store.renew(`s${i % services}`, `i${i}`);
  const renewals = rate(count, started);
  store.close();
  return { registrations, renewals };
}

/** `total` calls of `call` with `concurrency` in flight. */
async function concurrentRate(
  total: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await call(next++);
    }),
  );
  return rate(total, started);
}

/** The etcd store on `endpoints`: up to 5,000 registrations (64 in flight), twice as many renewals. */
export async function etcdStoreRates(
  endpoints: string[],
  instances: number,
  services: number,
): Promise<StoreRates> {
  const store = new EtcdRegistryStore({
    etcd: { endpoints, prefix: "/bench-store/", timeout: 5000 },
    minTtlMs: 100,
    maxTtlMs: 3_600_000,
    maxInstances: 1_000_000,
  });
  await store.start();
  const count = Math.min(instances, 5000);
  const registrations = await concurrentRate(count, 64, (i) =>
    store.register(`s${i % services}`, {
      host: "10.0.0.1",
      port: 1 + i,
      id: `i${i}`,
      ttlMs: 600_000,
    }),
  );
  const renewals = await concurrentRate(count * 2, 256, async (i) => {
    if ((await store.renew(`s${i % services}`, `i${i % count}`)) === undefined) {
      throw new Error("a renewal found no lease");
    }
  });
  await store.close();
  return { registrations, renewals };
}
