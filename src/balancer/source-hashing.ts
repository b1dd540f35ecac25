/** Placeholder: replaced by the real sh implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const sourceHashing: AlgorithmInfo = { ...roundRobin, name: "sh" };
