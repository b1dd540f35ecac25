/**
 * The compiled router of one http listener: built once per config, then one lookup per
 * request. Routes are tried in configured order (the first match wins, as HAProxy's
 * `use_backend` lines); the host decides which routes are candidates at all, and the
 * candidate list of each host is computed once and cached. Paths are matched in their
 * normalized form (routing-path.ts), so no spelling of a path escapes its route.
 */
import type { IncomingMessage } from "node:http";
import type { RouteCacheConfig } from "../config/schema/cache.js";
import type { HttpListenerConfig, RouteConfig } from "../config/schema/listener.js";
import { routingPath } from "./routing-path.js";

/** One route, ready to match. */
export interface CompiledRoute {
  readonly name: string;
  /** The pool that serves it; undefined for a fixed `respond` route. */
  readonly pool: string | undefined;
  readonly redirect: { status: 301 | 302 | 307 | 308 } | undefined;
  readonly respond: { status: number; body: string } | undefined;
  /** The route's `cache` option; undefined when it does not cache. */
  readonly cache: RouteCacheConfig | undefined;
  /** True when path, method and headers match (the host was matched already). */
  matches(path: string, method: string, req: IncomingMessage): boolean;
}

/** Why no route took a request. */
export type NoRoute = 404 | 421;

/** A router: the route for a request, or the status to answer when there is none. */
export interface Router {
  route(host: string, path: string, method: string, req: IncomingMessage): CompiledRoute | NoRoute;
}

interface HostRule {
  route: CompiledRoute;
  /** Exact host names (lower case). */
  exact: ReadonlySet<string>;
  /** Suffixes of "*.example.com" rules, with the dot: ".example.com". */
  suffixes: readonly string[];
  /** No host condition: every host is a candidate. */
  anyHost: boolean;
}

/** Hosts whose candidate list is cached; beyond it the cache starts over (random Host spam). */
const HOST_CACHE_LIMIT = 1024;

/** Compiles the listener's routes and default pool into a router. */
export function compileRouter(config: HttpListenerConfig): Router {
  const rules = config.routes.map((route, index) => hostRule(route, index));
  const hostBased = rules.some((rule) => !rule.anyHost);
  const fallback: CompiledRoute | undefined =
    config.default_pool === undefined
      ? undefined
      : {
          name: "default",
          pool: config.default_pool,
          redirect: undefined,
          respond: undefined,
          cache: undefined,
          matches: () => true,
        };
  const cache = new Map<string, CompiledRoute[]>();

  const candidatesOf = (host: string): CompiledRoute[] => {
    let list = cache.get(host);
    if (list !== undefined) return list;
    list = [];
    for (const rule of rules) if (hostMatches(rule, host)) list.push(rule.route);
    if (cache.size >= HOST_CACHE_LIMIT) cache.clear();
    cache.set(host, list);
    return list;
  };

  return {
    route(host, path, method, req) {
      const candidates = candidatesOf(host);
      for (let i = 0; i < candidates.length; i++) {
        const route = candidates[i];
        if (route.matches(path, method, req)) return route;
      }
      if (fallback !== undefined) return fallback;
      // RFC 9110 15.5.20: 421 says "this server does not serve that host", so a client
      // (or a connection-reusing browser) can retry elsewhere; 404 says the host is served
      // but nothing is at that path.
      return hostBased && candidates.length === 0 ? 421 : 404;
    },
  };
}

function hostRule(route: RouteConfig, index: number): HostRule {
  const hosts = route.match.host === undefined ? [] : [route.match.host].flat();
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const host of hosts) {
    const name = host.toLowerCase();
    if (name.startsWith("*.")) suffixes.push(name.slice(1));
    else exact.add(name);
  }
  return { route: compileRoute(route, index), exact, suffixes, anyHost: hosts.length === 0 };
}

function hostMatches(rule: HostRule, host: string): boolean {
  if (rule.anyHost || rule.exact.has(host)) return true;
  for (const suffix of rule.suffixes) {
    // "*.example.com" takes "a.example.com" and "a.b.example.com" but not "example.com".
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

function compileRoute(route: RouteConfig, index: number): CompiledRoute {
  const { methods, headers } = route.match;
  // Requests are matched on their normalized path (routing-path.ts); so are the patterns.
  const path = normalized(route.match.path);
  const prefix = normalized(route.match.path_prefix);
  const methodSet = methods === undefined ? undefined : new Set(methods);
  const headerRules =
    headers === undefined
      ? []
      : Object.entries(headers).map(([name, value]) => ({
          name: name.toLowerCase(),
          values: [value].flat(),
        }));
  return {
    name: route.name ?? `route ${index}`,
    pool: route.pool,
    redirect: route.redirect,
    respond: route.respond,
    cache: route.cache,
    matches(requestPath, method, req) {
      if (path !== undefined && requestPath !== path) return false;
      if (prefix !== undefined && !requestPath.startsWith(prefix)) return false;
      if (methodSet !== undefined && !methodSet.has(method)) return false;
      for (const rule of headerRules) {
        const value = req.headers[rule.name];
        if (typeof value !== "string" || !rule.values.includes(value)) return false;
      }
      return true;
    },
  };
}

function normalized(pattern: string | undefined): string | undefined {
  return pattern === undefined ? undefined : (routingPath(pattern) ?? pattern);
}

/** The host name of a Host header or authority: lower case, without port or trailing dot. */
export function normalizeHost(host: string | undefined): string {
  if (host === undefined || host.length === 0) return "";
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf("]");
    end = close < 0 ? end : close + 1;
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) end = colon;
  }
  if (end > 0 && host.charCodeAt(end - 1) === 46 /* . */) end--;
  const name = end === host.length ? host : host.slice(0, end);
  return name.toLowerCase();
}
