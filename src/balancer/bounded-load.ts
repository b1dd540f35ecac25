/** Placeholder: replaced by the real bounded implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const boundedLoad: AlgorithmInfo = { ...roundRobin, name: "bounded" };
