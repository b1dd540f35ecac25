/** Placeholder: replaced by the real wrandom implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const weightedRandom: AlgorithmInfo = { ...roundRobin, name: "wrandom" };
