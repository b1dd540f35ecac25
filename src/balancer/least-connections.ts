/** Placeholder: replaced by the real lc implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const leastConnections: AlgorithmInfo = { ...roundRobin, name: "lc" };
