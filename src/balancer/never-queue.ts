/** Placeholder: replaced by the real nq implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const neverQueue: AlgorithmInfo = { ...roundRobin, name: "nq" };
