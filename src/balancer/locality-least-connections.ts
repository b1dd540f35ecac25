/** Placeholder: replaced by the real lblc implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const localityLeastConnections: AlgorithmInfo = { ...roundRobin, name: "lblc" };
