/** Placeholder: replaced by the real p2c implementation. Behaves as round robin. */
import { roundRobin } from "./round-robin.js";
import type { AlgorithmInfo } from "./types.js";

export const powerOfTwoChoices: AlgorithmInfo = { ...roundRobin, name: "p2c" };
