/** Placeholder: replaced by the real wrr implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const smoothWeightedRoundRobin: AlgorithmInfo = { ...roundRobin, name: "wrr" };
