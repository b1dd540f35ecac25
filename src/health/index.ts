/** Health: active checks, the per-pool supervisor, passive detection, heartbeats, dynamic weights. */
export * from "./create-check.js";
export * from "./dynamic-weights.js";
export * from "./exec-check.js";
export * from "./heartbeat.js";
export * from "./http-check.js";
export * from "./mysql-check.js";
export * from "./passive.js";
export * from "./ping-check.js";
export * from "./postgres-check.js";
export * from "./redis-check.js";
export * from "./send-expect-check.js";
export * from "./status-ranges.js";
export * from "./supervisor.js";
export * from "./tcp-check.js";
export * from "./types.js";
