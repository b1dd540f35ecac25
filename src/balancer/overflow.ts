/** Placeholder: replaced by the real ovf implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const overflowConnection: AlgorithmInfo = { ...roundRobin, name: "ovf" };
