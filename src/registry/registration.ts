/**
 * Checks of what an instance sends when it registers, shared by every storage: names are
 * plain and short, the address and weight are in range, metadata is small. A refusal is a
 * RegistryError of kind "invalid" (the API answers 400).
 */
import { type InstanceRegistration, RegistryError } from "./storage.js";

/** A registration that passed the checks, with its id and defaults filled in. */
export interface CheckedRegistration {
  id: string;
  host: string;
  port: number;
  weight: number;
  zone?: string;
  metadata: Record<string, string>;
  ttlMs: number;
}

/** Names of services, instances and zones: plain, short, printable, never "/". */
const NAME = /^[A-Za-z0-9_.:\-[\]]{1,200}$/;
const MAX_METADATA_KEYS = 32;
const MAX_METADATA_VALUE = 512;

/** Checks a registration against the TTL limits; throws a RegistryError that says what is wrong. */
export function checkRegistration(
  service: string,
  registration: InstanceRegistration,
  limits: { minTtlMs: number; maxTtlMs: number },
): CheckedRegistration {
  checkName("service", service);
  const { host, port, ttlMs } = registration;
  if (!Number.isFinite(ttlMs) || ttlMs < limits.minTtlMs || ttlMs > limits.maxTtlMs) {
    throw new RegistryError(
      `ttl must be between ${limits.minTtlMs} and ${limits.maxTtlMs} ms, got ${ttlMs}`,
      "invalid",
    );
  }
  if (
    typeof host !== "string" ||
    !NAME.test(host) ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535
  ) {
    throw new RegistryError("an instance needs a host and a port between 1 and 65535", "invalid");
  }
  const weight = registration.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 0 || weight > 65535) {
    throw new RegistryError(`weight must be an integer from 0 to 65535, got ${weight}`, "invalid");
  }
  if (registration.zone !== undefined) checkName("zone", registration.zone);
  const metadata = checkMetadata(registration.metadata ?? {});
  const id = registration.id ?? (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
  checkName("instance id", id);
  return {
    id,
    host,
    port,
    weight,
    ...(registration.zone !== undefined && { zone: registration.zone }),
    metadata,
    ttlMs,
  };
}

/** True for a name the registry accepts (service, instance id, zone, metadata key). */
export function isName(name: unknown): name is string {
  return typeof name === "string" && NAME.test(name);
}

function checkName(what: string, name: unknown): void {
  if (!isName(name)) {
    throw new RegistryError(
      `${what} must be 1 to 200 letters, digits or _ . : - [ ], got ${JSON.stringify(String(name).slice(0, 60))}`,
      "invalid",
    );
  }
}

function checkMetadata(metadata: unknown): Record<string, string> {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new RegistryError("metadata must be an object of strings", "invalid");
  }
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_KEYS) {
    throw new RegistryError(`metadata may have at most ${MAX_METADATA_KEYS} keys`, "invalid");
  }
  const clean: Record<string, string> = Object.create(null);
  for (const [key, value] of entries) {
    checkName("metadata key", key);
    if (typeof value !== "string" || value.length > MAX_METADATA_VALUE) {
      throw new RegistryError(
        `metadata "${key}" must be a string of at most ${MAX_METADATA_VALUE} characters`,
        "invalid",
      );
    }
    clean[key] = value;
  }
  return { ...clean };
}

/** True when watchers would see no difference between two versions of an instance. */
export function sameInstance(
  a: Omit<CheckedRegistration, "ttlMs" | "id"> & { expired: boolean },
  b: Omit<CheckedRegistration, "ttlMs" | "id"> & { expired: boolean },
): boolean {
  if (
    a.host !== b.host ||
    a.port !== b.port ||
    a.weight !== b.weight ||
    a.zone !== b.zone ||
    a.expired !== b.expired
  ) {
    return false;
  }
  const ak = Object.keys(a.metadata);
  if (ak.length !== Object.keys(b.metadata).length) return false;
  return ak.every((k) => a.metadata[k] === b.metadata[k]);
}
