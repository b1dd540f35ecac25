/** Placeholder: replaced by the real ewma implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const peakEwma: AlgorithmInfo = { ...roundRobin, name: "ewma" };
