/** Placeholder: replaced by the real maglev implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const maglev: AlgorithmInfo = { ...roundRobin, name: "maglev" };
