/** Placeholder: replaced by the real chash implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const consistentHashRing: AlgorithmInfo = { ...roundRobin, name: "chash" };
