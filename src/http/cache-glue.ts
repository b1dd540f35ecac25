/**
 * Where the HTTP data plane meets the cache (src/cache/): the listener hands a request of a
 * caching route to `serveCached`, which answers a hit, a stale response or a coalesced miss
 * itself and starts a proxy exchange otherwise; the exchange passes the response through a
 * `CacheTee` that stores it while it streams to the client. Everything the cache needs from
 * the HTTP plane is in this file, so the plane's own files carry only a few marked lines.
 */
import { EventEmitter } from "node:events";
import { close } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CachedResponse } from "../cache/cached-response.js";
import { isNotModified, rangeOf } from "../cache/conditional.js";
import { openStoredBody, streamStoredBody } from "../cache/disk-read.js";
import type { CacheFill } from "../cache/fill.js";
import {
  ageSeconds,
  evaluate,
  type StaleAllowance,
  servesStaleOnError,
} from "../cache/freshness.js";
import { type CacheRequest, isTagField, judgeResponse } from "../cache/response-rules.js";
import { type CacheZone, cacheKeyOf, type RouteCounters } from "../cache/zone.js";
import type { RouteCacheConfig } from "../config/schema/cache.js";
import { hitBytes } from "./cache-hit.js";
import { type RequestHead, requestFields } from "./forward-headers.js";
import { sendError } from "./responses.js";
import { normalizeHost } from "./router.js";
import { ClientResponse } from "./server/client-response.js";

/** The zones a listener's routes may name. */
export type CacheZones = ReadonlyMap<string, CacheZone>;

/** The exchange's calls into the cache, in the order of a response. */
export interface CacheTee {
  /**
   * The backend's response head, before it is written: may add or remove fields in
   * `headers`. True when the cache answered the client itself (a 304 that refreshed the
   * stored response, a stale response for a 5xx): the backend's body is then not written.
   */
  onHead(res: ServerResponse, status: number, statusText: string, headers: string[]): boolean;
  /** A body chunk; false when it must not be written to the client. */
  onData(chunk: Buffer): boolean;
  /** The body is complete. */
  onEnd(): void;
  /** The exchange failed (502/503/504); true when a stale response was sent instead. */
  onFail(res: ServerResponse, status: number): boolean;
  /** The exchange is over, whichever way: an unfinished fill is abandoned. */
  close(): void;
}

/** Starts a proxy exchange for the request: answering `res`, with `head`, through `tee`. */
export type StartExchange = (
  res: ServerResponse,
  head: RequestHead,
  tee: CacheTee | undefined,
) => void;

/** nginx's $upstream_cache_status words, for X-Cache. */
type XCache = "HIT" | "MISS" | "EXPIRED" | "STALE" | "UPDATING" | "REVALIDATED" | "BYPASS";

/** Request fields that make the backend's answer depend on what the client holds. */
const CONDITIONAL = new Set([
  "if-none-match",
  "if-modified-since",
  "if-match",
  "if-unmodified-since",
  "if-range",
]);

/** Methods that change nothing on the origin (RFC 9110 9.2.1): they invalidate nothing. */
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** One request on a caching route. */
export function serveCached(
  zones: CacheZones,
  options: RouteCacheConfig,
  req: IncomingMessage,
  res: ServerResponse,
  head: RequestHead,
  url: string,
  start: StartExchange,
): void {
  const zone = zones.get(options.zone);
  if (zone === undefined) {
    start(res, head, undefined);
    return;
  }
  const route = routeCountersOf(zone, options);
  const method = req.method ?? "GET";
  const host = normalizeHost(head.host);
  const key = cacheKeyOf(host, url);
  if (method !== "GET" && method !== "HEAD") {
    tally(zone, route, "bypass");
    // RFC 9111 4.4: a successful unsafe request invalidates the URL (and its Location).
    const invalidate = SAFE.has(method) ? undefined : { host, key };
    start(res, head, new PassTee(zone, options, invalidate));
    return;
  }
  // Varnish's rule: a request with credentials is answered by the backend, never the cache.
  if (req.headers.authorization !== undefined) {
    tally(zone, route, "bypass");
    start(res, head, new PassTee(zone, options, undefined));
    return;
  }
  const request: CacheRequest = { method: "GET", url, host, headers: req.headers };
  // A fresh hit is answered here, without the objects a lookup that may wait or miss needs.
  const entry = zone.lookup(key, request);
  if (entry !== undefined && evaluate(entry, req.headers, allowanceOf(options)) === "fresh") {
    tally(zone, route, "hits");
    const onGone = Buffer.isBuffer(entry.body)
      ? noop
      : () => new CachedRequest(zone, route, options, req, res, head, key, request, start).run();
    serveEntry(res, req, entry, "HIT", zone, options, key, onGone);
    return;
  }
  new CachedRequest(zone, route, options, req, res, head, key, request, start).run();
}

function noop(): void {}

/** A GET or HEAD on a caching route, from lookup to answer. */
class CachedRequest {
  private readonly allowance: StaleAllowance;

  constructor(
    private readonly zone: CacheZone,
    private readonly route: RouteCounters,
    private readonly options: RouteCacheConfig,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly head: RequestHead,
    private readonly key: string,
    private readonly request: CacheRequest,
    private readonly start: StartExchange,
  ) {
    this.allowance = allowanceOf(options);
  }

  /** Looks up and answers, waits for a fill, or asks the backend. */
  run(): void {
    const { zone, key, request } = this;
    const entry = zone.lookup(key, request);
    if (entry !== undefined) {
      const verdict = evaluate(entry, this.req.headers, this.allowance);
      if (verdict === "fresh") {
        tally(zone, this.route, "hits");
        serveEntry(this.res, this.req, entry, "HIT", zone, this.options, key, this.rerun);
        return;
      }
      if (verdict === "stale-ok" || verdict === "revalidate-later") {
        tally(zone, this.route, "stale");
        serveEntry(
          this.res,
          this.req,
          entry,
          verdict === "stale-ok" ? "STALE" : "UPDATING",
          zone,
          this.options,
          key,
          this.rerun,
        );
        if (verdict === "revalidate-later" && zone.fillOf(key) === undefined)
          this.revalidateDetached(entry);
        return;
      }
    }
    if (onlyIfCached(this.req)) {
      // RFC 9111 5.2.1.7: nothing usable is stored, and the client forbids asking.
      this.res.writeHead(504, ["content-length", "0", "cache-control", "no-store"]);
      this.res.end();
      return;
    }
    const fill = zone.fillOf(key);
    if (fill !== undefined) {
      this.waitFor(fill);
      return;
    }
    if (
      this.req.method === "HEAD" ||
      (entry === undefined && typeof this.req.headers.range === "string")
    ) {
      // A HEAD (no body to store) or a range of something not stored goes to the backend
      // as it is; nothing is stored.
      tally(zone, this.route, "bypass");
      this.start(this.res, this.head, new PassTee(zone, this.options, undefined));
      return;
    }
    tally(zone, this.route, "misses");
    const next = zone.startFill(key, request, entry);
    const tee = new FillTee(
      zone,
      this.route,
      this.options,
      next,
      this.req,
      this.head.requestId,
      entry === undefined ? "MISS" : "EXPIRED",
    );
    this.start(this.res, fillHead(this.head, entry), tee);
  }

  /** stale-while-revalidate: the client has its answer; the backend is asked on the side. */
  private revalidateDetached(entry: CachedResponse): void {
    const { zone } = this;
    const fill = zone.startFill(this.key, this.request, entry);
    const detached = new DetachedResponse(this.req) as unknown as ServerResponse;
    this.start(
      detached,
      fillHead(this.head, entry),
      new FillTee(zone, this.route, this.options, fill, this.req, this.head.requestId, "EXPIRED"),
    );
  }

  /** Request coalescing: wait for the response another request is fetching. */
  private waitFor(fill: CacheFill): void {
    const { zone, res } = this;
    tally(zone, this.route, "coalesced");
    let timer: NodeJS.Timeout | undefined;
    const onClose = () => {
      stop();
      clearTimeout(timer);
    };
    const stop = fill.wait((outcome) => {
      clearTimeout(timer);
      res.off("close", onClose);
      if (outcome === "stored") {
        this.run();
        return;
      }
      if (outcome === "stale") {
        const stale = zone.lookup(this.key, this.request);
        if (stale !== undefined && servesStaleOnError(stale, this.allowance)) {
          tally(zone, this.route, "stale");
          serveEntry(res, this.req, stale, "STALE", zone, this.options, this.key, () =>
            this.pass(),
          );
          return;
        }
      }
      this.pass();
    });
    // nginx's proxy_cache_lock_timeout: past it, the request goes to the backend itself.
    timer = setTimeout(() => {
      stop();
      res.off("close", onClose);
      this.pass();
    }, this.options.lock_timeout);
    res.once("close", onClose);
  }

  /** The stored file vanished before it could be read: look up again (now a miss). */
  private readonly rerun = (): void => this.run();

  private pass(): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    tally(this.zone, this.route, "misses");
    this.start(this.res, this.head, new PassTee(this.zone, this.options, undefined));
  }
}

/** Tees a response into a fill, answers revalidations and stands in stale for failures. */
class FillTee implements CacheTee {
  /** The cache answered the client: the backend's body is stored (or dropped), not sent. */
  private answered = false;

  constructor(
    private readonly zone: CacheZone,
    private readonly route: RouteCounters,
    private readonly options: RouteCacheConfig,
    private readonly fill: CacheFill,
    private readonly req: IncomingMessage,
    private readonly requestId: string,
    private readonly status: "MISS" | "EXPIRED",
  ) {}

  onHead(res: ServerResponse, status: number, statusText: string, headers: string[]): boolean {
    const { fill, zone } = this;
    const stale = fill.stale;
    if (stale !== undefined && status === 304) {
      tally(zone, this.route, "revalidated");
      const fresh = fill.refresh(headers) ?? stale;
      this.answer(res, fresh, "REVALIDATED");
      return true;
    }
    if (
      stale !== undefined &&
      isServerError(status) &&
      servesStaleOnError(stale, allowanceOf(this.options))
    ) {
      fill.abandon("stale");
      tally(zone, this.route, "stale");
      this.answer(res, stale, "STALE");
      return true;
    }
    const judged = judgeResponse(fill.request, status, statusText, headers);
    if (typeof judged === "string") fill.abandon(isServerError(status) ? "stale" : "pass");
    else fill.accept(judged);
    stripTagFields(headers);
    if (this.options.status_headers) {
      const stored = fill.storing ? "; stored" : "";
      const cacheStatus =
        this.status === "MISS"
          ? `ballast; fwd=uri-miss; fwd-status=${status}${stored}`
          : `ballast; fwd=stale; fwd-status=${status}${stored}`;
      headers.push("x-cache", this.status, "cache-status", cacheStatus);
    }
    return false;
  }

  onData(chunk: Buffer): boolean {
    this.fill.write(chunk);
    return !this.answered;
  }

  onEnd(): void {
    if (this.fill.storing) this.fill.commit();
    else this.fill.abandon("pass");
  }

  onFail(res: ServerResponse, status: number): boolean {
    const stale = this.fill.stale;
    if (
      stale === undefined ||
      res.headersSent ||
      !servesStaleOnError(stale, allowanceOf(this.options))
    ) {
      this.fill.abandon(stale === undefined ? "pass" : "stale");
      return false;
    }
    this.fill.abandon("stale");
    tally(this.zone, this.route, "stale");
    serveEntry(
      res,
      this.req,
      stale,
      "STALE",
      this.zone,
      this.options,
      this.fill.key,
      () => sendError(res, status, this.requestId),
      status,
    );
    return true;
  }

  close(): void {
    this.fill.abandon("pass");
  }

  private answer(res: ServerResponse, entry: CachedResponse, status: XCache): void {
    this.answered = true;
    if (res instanceof DetachedResponse) return;
    serveEntry(res, this.req, entry, status, this.zone, this.options, this.fill.key, () =>
      sendError(res, 502, this.requestId),
    );
  }
}

/** A request the cache does not answer: status fields, and invalidation for unsafe methods. */
class PassTee implements CacheTee {
  constructor(
    private readonly zone: CacheZone,
    private readonly options: RouteCacheConfig,
    private readonly invalidate: { host: string; key: string } | undefined,
  ) {}

  onHead(_res: ServerResponse, status: number, _statusText: string, headers: string[]): boolean {
    const invalidate = this.invalidate;
    if (invalidate !== undefined && status >= 200 && status < 400) {
      this.zone.invalidate(invalidate.key);
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i].toLowerCase();
        if (name !== "location" && name !== "content-location") continue;
        const key = sameOriginKey(invalidate.host, headers[i + 1]);
        if (key !== undefined) this.zone.invalidate(key);
      }
    }
    stripTagFields(headers);
    if (this.options.status_headers)
      headers.push("x-cache", "BYPASS", "cache-status", "ballast; fwd=bypass");
    return false;
  }

  onData(): boolean {
    return true;
  }

  onEnd(): void {}

  onFail(): boolean {
    return false;
  }

  close(): void {}
}

/**
 * Writes a stored response: the Age field, status fields, and a 304 for a matching
 * conditional request or a 206 for a single range. A body on disk is opened first; when its
 * file is gone (evicted or purged meanwhile) the entry is dropped and `onGone` decides what
 * the client gets instead.
 */
function serveEntry(
  res: ServerResponse,
  req: IncomingMessage,
  entry: CachedResponse,
  status: XCache,
  zone: CacheZone,
  options: RouteCacheConfig,
  key: string,
  onGone: () => void,
  failedStatus?: number,
): void {
  if (res.destroyed || res.writableEnded) return;
  const reqHeaders = req.headers;
  const own = res as unknown;
  if (
    status === "HIT" &&
    own instanceof ClientResponse &&
    own.shouldKeepAlive &&
    req.httpVersionMinor >= 1 &&
    req.method === "GET" &&
    Buffer.isBuffer(entry.body) &&
    reqHeaders["if-none-match"] === undefined &&
    reqHeaders["if-modified-since"] === undefined &&
    reqHeaders.range === undefined
  ) {
    // The common hit: bytes serialized once (cache-hit.ts), written as they are.
    zone.counters.bytesServed += entry.bodyLength;
    const { head, bytes } = hitBytes(entry, options.status_headers, Date.now());
    own.endFramed(entry.status, head, bytes);
    return;
  }
  const age = ageSeconds(entry);
  // The Age field is whole seconds (RFC 9111 5.1).
  const headers = entry.headers.concat("age", String(Math.max(0, Math.floor(age))));
  if (options.status_headers) {
    const ttl = Math.floor(entry.lifetime - age);
    const detail =
      status === "HIT" || status === "UPDATING" || status === "STALE"
        ? failedStatus === undefined
          ? `ballast; hit; ttl=${ttl}`
          : `ballast; fwd=stale; fwd-status=${failedStatus}; ttl=${ttl}`
        : `ballast; fwd=stale; fwd-status=304; ttl=${ttl}`;
    headers.push("x-cache", status, "cache-status", detail);
  }
  if (
    (reqHeaders["if-none-match"] !== undefined || reqHeaders["if-modified-since"] !== undefined) &&
    entry.status === 200 &&
    isNotModified(entry, reqHeaders)
  ) {
    res.writeHead(304, withoutField(headers, "content-length"));
    res.end();
    return;
  }
  const length = entry.bodyLength;
  const range = reqHeaders.range === undefined ? undefined : rangeOf(entry, reqHeaders);
  if (range === "unsatisfiable") {
    const answer = withoutField(headers, "content-length");
    answer.push("content-range", `bytes */${length}`, "content-length", "0");
    res.writeHead(416, answer);
    res.end();
    return;
  }
  const isHead = req.method === "HEAD";
  let status206: string[] | undefined;
  let start = 0;
  let end = length - 1;
  if (range !== undefined) {
    status206 = withoutField(headers, "content-length");
    start = range.start;
    end = range.end;
    status206.push(
      "content-range",
      `bytes ${start}-${end}/${length}`,
      "content-length",
      String(end - start + 1),
    );
  }
  const body = entry.body;
  if (isHead) {
    writeEntryHead(res, entry, headers, status206);
    res.end();
    return;
  }
  zone.counters.bytesServed += end - start + 1;
  if (Buffer.isBuffer(body)) {
    writeEntryHead(res, entry, headers, status206);
    res.end(status206 === undefined ? body : body.subarray(start, end + 1));
    return;
  }
  openStoredBody(body, (fd) => {
    if (fd === undefined || res.destroyed) {
      if (fd !== undefined) close(fd, () => {});
      else zone.drop(key, entry);
      if (!res.destroyed) onGone();
      return;
    }
    writeEntryHead(res, entry, headers, status206);
    streamStoredBody(fd, body, start, end, status206 === undefined, res, (ok) => {
      // A file shorter than its head or with another body: never served again.
      if (!ok) zone.drop(key, entry);
    });
  });
}

/** The head of a stored response: its own status, or 206 with `rangeHeaders`. */
function writeEntryHead(
  res: ServerResponse,
  entry: CachedResponse,
  headers: string[],
  rangeHeaders: string[] | undefined,
): void {
  if (rangeHeaders !== undefined) res.writeHead(206, rangeHeaders);
  else if (entry.statusText.length > 0) res.writeHead(entry.status, entry.statusText, headers);
  else res.writeHead(entry.status, headers);
}

/**
 * The head sent to the backend to fill a key: the client's own validators and range are
 * dropped (the cache needs the whole response), the stored response's validators added.
 */
function fillHead(head: RequestHead, stale: CachedResponse | undefined): RequestHead {
  const headers: string[] = [];
  const source = requestFields(head);
  for (let i = 0; i < source.length; i += 2) {
    const name = source[i].toLowerCase();
    if (CONDITIONAL.has(name) || name === "range") continue;
    headers.push(source[i], source[i + 1]);
  }
  if (stale?.etag !== undefined) headers.push("if-none-match", stale.etag);
  if (stale?.lastModified !== undefined) headers.push("if-modified-since", stale.lastModified);
  // cookieIndex points at the Cookie value (the sticky cookie is stripped there), or -1.
  let cookieIndex = -1;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() === "cookie") cookieIndex = i + 1;
  }
  return { ...head, fields: "", headers, cookieIndex };
}

/** The cache key of a Location or Content-Location that names this host; else undefined. */
function sameOriginKey(host: string, location: string): string | undefined {
  try {
    const url = new URL(location, `http://${host}/`);
    if (url.hostname.toLowerCase() !== host) return undefined;
    return cacheKeyOf(host, `${url.pathname}${url.search}`);
  } catch {
    return undefined;
  }
}

function stripTagFields(headers: string[]): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (isTagField(headers[i])) headers.splice(i, 2);
  }
}

function withoutField(headers: readonly string[], name: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== name) kept.push(headers[i], headers[i + 1]);
  }
  return kept;
}

function isServerError(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

function onlyIfCached(req: IncomingMessage): boolean {
  const cacheControl = req.headers["cache-control"];
  return cacheControl !== undefined && /only-if-cached/i.test(cacheControl);
}

/** Counts a lookup's result in the zone's and the route's counters. */
function tally(zone: CacheZone, route: RouteCounters, result: keyof RouteCounters): void {
  zone.counters[result]++;
  route[result]++;
}

/** Labels of routes' cache options ("listener/route"), so counters can be kept per route. */
const routeLabels = new WeakMap<RouteCacheConfig, string>();

/**
 * Names the route a `cache` option belongs to (the runtime does, for each config it loads):
 * its lookups are then counted under that name as well as the zone's.
 */
export function labelCacheRoute(options: RouteCacheConfig, label: string): void {
  routeLabels.set(options, label);
}

function routeCountersOf(zone: CacheZone, options: RouteCacheConfig): RouteCounters {
  return zone.routeCounters(routeLabels.get(options) ?? "(unnamed route)");
}

const allowances = new WeakMap<RouteCacheConfig, StaleAllowance>();

/** The route's stale allowances in seconds (config durations are in ms). */
function allowanceOf(options: RouteCacheConfig): StaleAllowance {
  let allowance = allowances.get(options);
  if (allowance === undefined) {
    allowance = {
      staleWhileRevalidate: options.stale_while_revalidate / 1000,
      staleIfError: options.stale_if_error / 1000,
    };
    allowances.set(options, allowance);
  }
  return allowance;
}

/**
 * The response of a background revalidation: nobody reads it. It has what a proxy exchange
 * uses of a ServerResponse; the body goes into the fill only.
 */
class DetachedResponse extends EventEmitter {
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  shouldKeepAlive = true;
  statusCode = 200;

  constructor(readonly req: IncomingMessage) {
    super();
  }

  writeContinue(): void {}

  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  write(): boolean {
    return true;
  }

  end(): this {
    this.headersSent = true;
    this.writableEnded = true;
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }
}
