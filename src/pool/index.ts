export * from "./backend.js";
export * from "./lease.js";
export * from "./pool.js";
