/**
 * The simulator's compact spellings: backends "a:5ms:w3:c10:lognormal", slowdowns
 * "b:5x:2s-6s", outages "c:3s-5s". Mistakes throw ScenarioError with what would be valid.
 */
import type { DownWindow, ServiceSpread, SimBackendSpec, SlowWindow } from "./scenario.js";
import { scenarioDefaults } from "./scenario.js";

/** A scenario option that cannot be understood; the message says what would be valid. */
export class ScenarioError extends Error {
  override name = "ScenarioError";
}

const SPREADS: readonly ServiceSpread[] = ["exponential", "lognormal", "fixed"];

/** Parses "a:5ms:w3:c10,b:20ms,c:80ms:lognormal" into backend specs. */
export function parseBackends(text: string): SimBackendSpec[] {
  const backends = splitList(text).map(parseBackend);
  if (backends.length === 0) throw new ScenarioError("--backends needs at least one backend");
  const seen = new Set<string>();
  for (const b of backends) {
    if (seen.has(b.id)) throw new ScenarioError(`backend "${b.id}" is listed twice`);
    seen.add(b.id);
  }
  return backends;
}

function parseBackend(text: string): SimBackendSpec {
  const [id, latency, ...rest] = text.split(":");
  const example = 'for example "a:5ms:w3:c10" (name:mean latency[:wWEIGHT][:cCAPACITY][:spread])';
  if (!id || latency === undefined) throw new ScenarioError(`backend "${text}": ${example}`);
  const spec: SimBackendSpec = {
    id,
    meanMs: parseDuration(latency, `backend "${id}" latency`),
    weight: 1,
    capacity: scenarioDefaults.capacity,
    spread: scenarioDefaults.spread,
  };
  if (spec.meanMs <= 0) throw new ScenarioError(`backend "${id}" latency must be above 0`);
  for (const part of rest) {
    if (/^w\d+$/.test(part)) spec.weight = Number(part.slice(1));
    else if (/^c\d+$/.test(part) && Number(part.slice(1)) > 0)
      spec.capacity = Number(part.slice(1));
    else if ((SPREADS as readonly string[]).includes(part)) spec.spread = part as ServiceSpread;
    else {
      throw new ScenarioError(
        `backend "${id}": unknown part "${part}"; expected wN (weight), cN (capacity above 0) ` +
          `or one of ${SPREADS.join(", ")}`,
      );
    }
  }
  return spec;
}

/** Parses "b:5x:2s-6s,c:2x:10s-12s" into slowdown windows. */
export function parseSlowWindows(text: string, backendIds: readonly string[]): SlowWindow[] {
  return splitList(text).map((item) => {
    const [backend, factor, range, extra] = item.split(":");
    const example = 'for example "b:5x:2s-6s" (backend:factor:from-to)';
    if (!backend || !factor || !range || extra !== undefined || !/^\d+(\.\d+)?x$/.test(factor)) {
      throw new ScenarioError(`--slow "${item}": ${example}`);
    }
    checkBackend(backend, backendIds, "--slow");
    const value = Number(factor.slice(0, -1));
    if (value <= 0) throw new ScenarioError(`--slow "${item}": the factor must be above 0`);
    return { backend, factor: value, ...parseRange(range, `--slow "${item}"`) };
  });
}

/** Parses "c:3s-5s" into outage windows. */
export function parseDownWindows(text: string, backendIds: readonly string[]): DownWindow[] {
  return splitList(text).map((item) => {
    const [backend, range, extra] = item.split(":");
    if (!backend || !range || extra !== undefined) {
      throw new ScenarioError(`--down "${item}": for example "c:3s-5s" (backend:from-to)`);
    }
    checkBackend(backend, backendIds, "--down");
    return { backend, ...parseRange(range, `--down "${item}"`) };
  });
}

/** "250ms", "2s", "1.5s" or a bare number of ms, in ms. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match) throw new ScenarioError(`${what}: "${text}" is not a duration like 250ms or 2s`);
  return Number(match[1]) * (match[2] === "s" ? 1000 : 1);
}

function parseRange(text: string, what: string): { fromMs: number; toMs: number } {
  const parts = text.split("-");
  if (parts.length !== 2) throw new ScenarioError(`${what}: the window must be like 2s-6s`);
  const fromMs = parseDuration(parts[0], what);
  const toMs = parseDuration(parts[1], what);
  if (toMs <= fromMs) throw new ScenarioError(`${what}: the window must end after it starts`);
  return { fromMs, toMs };
}

function checkBackend(id: string, backendIds: readonly string[], what: string): void {
  if (!backendIds.includes(id)) {
    throw new ScenarioError(`${what}: no backend "${id}"; backends are ${backendIds.join(", ")}`);
  }
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
