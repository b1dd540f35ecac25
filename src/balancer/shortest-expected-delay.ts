/** Placeholder: replaced by the real sed implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const shortestExpectedDelay: AlgorithmInfo = { ...roundRobin, name: "sed" };
