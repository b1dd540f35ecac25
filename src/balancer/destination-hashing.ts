/** Placeholder: replaced by the real dh implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const destinationHashing: AlgorithmInfo = { ...roundRobin, name: "dh" };
