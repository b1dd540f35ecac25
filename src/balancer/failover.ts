/** Placeholder: replaced by the real fo implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const weightedFailover: AlgorithmInfo = { ...roundRobin, name: "fo" };
