/**
 * The registry's layout in etcd: one key per instance, `{prefix}instances/{service}/{id}`,
 * holding the instance as JSON and attached to the instance's lease. Whatever is read back is
 * checked as a registration is, since anyone who can write to etcd can write there.
 */
import type { IKeyValue } from "etcd3";
import { checkRegistration, isName } from "./registration.js";

/** What an instance key holds (JSON). */
export interface StoredInstance {
  host: string;
  port: number;
  weight: number;
  zone?: string;
  metadata: Record<string, string>;
  ttlMs: number;
  registeredAt: number;
  /** Written just before a deregistration deletes the key: a deliberate leave, not an expiry. */
  leaving?: boolean;
}

/** The service and instance id of an instance key under `keys`, or undefined for any other key. */
export function parseKey(keys: string, key: Buffer): { service: string; id: string } | undefined {
  const text = key.toString();
  if (!text.startsWith(keys)) return undefined;
  const [service, id, ...rest] = text.slice(keys.length).split("/");
  if (rest.length > 0 || !isName(service) || !isName(id)) return undefined;
  return { service, id };
}

/**
 * The instance a key holds, checked as a registration is (anyone who can write to etcd can
 * write here); undefined when it is not JSON or fails the checks.
 */
export function parseStored(kv: IKeyValue): StoredInstance | undefined {
  try {
    const value = JSON.parse(kv.value.toString()) as StoredInstance;
    if (typeof value !== "object" || value === null) return undefined;
    const checked = checkRegistration(
      "stored",
      {
        host: value.host,
        port: value.port,
        weight: value.weight,
        zone: value.zone,
        metadata: value.metadata,
        ttlMs: value.ttlMs,
      },
      { minTtlMs: 1, maxTtlMs: Number.MAX_SAFE_INTEGER },
    );
    return {
      host: checked.host,
      port: checked.port,
      weight: checked.weight,
      ...(checked.zone !== undefined && { zone: checked.zone }),
      metadata: checked.metadata,
      ttlMs: checked.ttlMs,
      registeredAt: Number.isFinite(value.registeredAt) ? value.registeredAt : 0,
      ...(value.leaving === true && { leaving: true }),
    };
  } catch {
    return undefined;
  }
}
