/** Placeholder: replaced by the real random implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const random: AlgorithmInfo = { ...roundRobin, name: "random" };
