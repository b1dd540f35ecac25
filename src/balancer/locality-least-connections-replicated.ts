/** Placeholder: replaced by the real lblcr implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const localityLeastConnectionsReplicated: AlgorithmInfo = { ...roundRobin, name: "lblcr" };
