/** Placeholder: replaced by the real wlc implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const weightedLeastConnections: AlgorithmInfo = { ...roundRobin, name: "wlc" };
