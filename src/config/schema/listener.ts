/** The `listeners` section: one entry per data plane listener (http, tcp, udp, dns, kernel). */
import { z } from "zod";
import { loadTlsMaterial } from "../tls-material.js";
import { routeCacheSchema } from "./cache.js";
import { bindAddress, cidr, duration } from "./common.js";
import { dnsListenerFields } from "./dns.js";

/** What a request must look like for a route to take it; every given field must match. */
export const routeMatchSchema = z.strictObject({
  /** Exact host ("api.example.com") or wildcard ("*.example.com"); port ignored. */
  host: z.union([z.string(), z.array(z.string())]).optional(),
  /** Path prefix. */
  path_prefix: z.string().startsWith("/").optional(),
  /** Exact path. */
  path: z.string().startsWith("/").optional(),
  /** Header name to exact value, or to a list of accepted values. */
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  methods: z.array(z.string().toUpperCase()).optional(),
});

export const routeSchema = z
  .strictObject({
    name: z.string().optional(),
    match: routeMatchSchema.default({}),
    /** The pool that serves matching requests. */
    pool: z.string().min(1).optional(),
    /** Answer with a redirect to the chosen backend's `redirect_url` instead of proxying. */
    redirect: z
      .strictObject({
        status: z
          .union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)])
          .default(302),
      })
      .optional(),
    /** A fixed answer, for example a maintenance page. */
    respond: z
      .strictObject({ status: z.number().int().min(100).max(599), body: z.string().default("") })
      .optional(),
    /** Answer from an HTTP cache zone (see docs/cache.md). */
    cache: routeCacheSchema.optional(),
  })
  .refine((route) => route.pool !== undefined || route.respond !== undefined, {
    message: "a route needs `pool` (or `respond` for a fixed answer)",
  });

/** An RFC 7239 obfuscated node name (`_` then letters, digits, `.`, `_`, `-`), or "address". */
const forwardedBy = z
  .string()
  .regex(
    /^(?:address|_[A-Za-z0-9._-]+)$/,
    'expected "address" (the address the client reached) or a name such as "_lb1"',
  );

export const forwardedSchema = z
  .strictObject({
    /** Set X-Forwarded-For, -Proto, -Host and X-Real-IP, and drop an untrusted Forwarded. */
    enabled: z.boolean().default(true),
    /**
     * Inbound X-Forwarded-* and Forwarded are kept only from these addresses; otherwise they
     * are replaced (X-Forwarded-*) or dropped (Forwarded).
     */
    trusted_proxies: z.array(cidr).default([]),
    /** Append ballast's own RFC 7239 `Forwarded` element (HAProxy `option forwarded`). */
    rfc7239: z.boolean().default(false),
    /** The `by=` of that element: "address" or an obfuscated name; none when unset. */
    rfc7239_by: forwardedBy.optional(),
  })
  .superRefine((forwarded, ctx) => {
    if (forwarded.rfc7239 && !forwarded.enabled) {
      ctx.addIssue({
        code: "custom",
        path: ["rfc7239"],
        message: "rfc7239 needs enabled: true (enabled: false passes forwarding fields as sent)",
      });
    }
    if (forwarded.rfc7239_by !== undefined && !forwarded.rfc7239) {
      ctx.addIssue({
        code: "custom",
        path: ["rfc7239_by"],
        message: "rfc7239_by needs rfc7239: true",
      });
    }
  });

export const retrySchema = z.strictObject({
  /** Further tries after the first (HAProxy `retries`). */
  attempts: z.number().int().min(0).max(10).default(2),
  /** Upstream statuses that are retried. */
  on_status: z.array(z.number().int().min(500).max(599)).default([502, 503, 504]),
  /** Retry non-idempotent methods too, when no body byte has been sent yet. */
  non_idempotent: z.boolean().default(false),
  /** Retries may add at most this percentage of requests over 10 s (Envoy retry budget). */
  budget_percent: z.number().min(0).max(100).default(20),
  /** A small floor of retries always allowed per second, for quiet pools. */
  min_retries_per_second: z.number().min(0).default(3),
});

export const httpTimeoutsSchema = z.strictObject({
  connect: duration.default(5000),
  /** The client must send the full request head within this (slowloris guard) → 408. */
  request_header: duration.default(10_000),
  /** The backend must send response headers within this → 504. */
  response: duration.default(60_000),
  /** A client keep-alive connection idle this long is closed. */
  idle: duration.default(60_000),
  /** Idle upstream keep-alive sockets are closed after this (keep below the backend's). */
  upstream_idle: duration.default(4000),
});

export const limitsSchema = z.strictObject({
  /** Allow only these client addresses (empty = all). */
  allow: z.array(cidr).default([]),
  /** Refuse these client addresses. */
  deny: z.array(cidr).default([]),
  /** Requests per second per client address (token bucket), 0 = off. */
  rate_per_second: z.number().min(0).default(0),
  burst: z.number().int().min(0).default(0),
  /** Concurrent connections per client address, 0 = off. */
  connections_per_client: z.number().int().min(0).default(0),
  /** Concurrent connections on the listener, 0 = off. */
  max_connections: z.number().int().min(0).default(0),
});

/**
 * TLS termination: `cert` (the chain, served certificate first) and `key`, each a PEM file
 * path or inline PEM. Both are read and checked here, on every load, into `loaded`.
 */
export const tlsSchema = z
  .strictObject({
    cert: z.string().min(1),
    key: z.string().min(1),
  })
  .transform((tls, ctx) => {
    const result = loadTlsMaterial(tls);
    if (result.problems !== undefined) {
      for (const { field, message } of result.problems) {
        ctx.addIssue({ code: "custom", path: [field], message });
      }
      return z.NEVER;
    }
    return { ...tls, loaded: result.material };
  });

const listenerBase = {
  name: z.string().min(1),
  bind: bindAddress,
  limits: limitsSchema.optional(),
};

export const httpListenerSchema = z.strictObject({
  ...listenerBase,
  protocol: z.literal("http"),
  tls: tlsSchema.optional(),
  routes: z.array(routeSchema).default([]),
  /** The pool for requests that no route matches; without it they get 404. */
  default_pool: z.string().optional(),
  forwarded: forwardedSchema.default({ enabled: true, trusted_proxies: [], rfc7239: false }),
  retries: retrySchema.default({
    attempts: 2,
    on_status: [502, 503, 504],
    non_idempotent: false,
    budget_percent: 20,
    min_retries_per_second: 3,
  }),
  timeouts: httpTimeoutsSchema.default({
    connect: 5000,
    request_header: 10_000,
    response: 60_000,
    idle: 60_000,
    upstream_idle: 4000,
  }),
  /** Upstream keep-alive sockets kept per backend. */
  upstream_keepalive: z.number().int().min(0).default(64),
  /** Largest request head accepted, in bytes (more is 431). */
  max_header_size: z.number().int().min(1024).default(16_384),
  /** Most header fields a request may have (more is 431; HAProxy's tune.http.maxhdr). */
  max_header_count: z.number().int().min(1).max(10_000).default(100),
  /** Pass header fields whose names hold `_` (nginx `underscores_in_headers`); off drops them. */
  underscores_in_headers: z.boolean().default(false),
  websocket: z.boolean().default(true),
  access_log: z.boolean().default(true),
});

export const proxyProtocolSchema = z.strictObject({
  /** Send a PROXY header of this version to backends. */
  send: z.union([z.literal(1), z.literal(2)]).optional(),
  /** Accept a PROXY header from these front balancers (required from them). */
  accept_from: z.array(cidr).default([]),
});

export const tcpListenerSchema = z.strictObject({
  ...listenerBase,
  protocol: z.literal("tcp"),
  pool: z.string().min(1),
  timeouts: z
    .strictObject({ connect: duration.default(5000), idle: duration.default(300_000) })
    .default({ connect: 5000, idle: 300_000 }),
  /** Connect attempts on other backends after a failed connect. */
  retries: z.number().int().min(0).max(10).default(2),
  proxy_protocol: proxyProtocolSchema.optional(),
});

export const udpListenerSchema = z.strictObject({
  ...listenerBase,
  protocol: z.literal("udp"),
  pool: z.string().min(1),
  /** `session`: one backend per client address and port; `datagram`: pick per datagram. */
  mode: z.enum(["session", "datagram"]).default("session"),
  session_timeout: duration.default(30_000),
  /** Most sessions kept; the least recently used is evicted beyond it. */
  max_sessions: z.number().int().min(1).default(65_536),
});

/** The pool algorithms nftables can schedule (see docs/kernel.md). */
export const KERNEL_ALGORITHMS = [
  "rr",
  "wrr",
  "random",
  "wrandom",
  "lc",
  "wlc",
  "sed",
  "nq",
  "fo",
  "sh",
  "dh",
] as const;

/** ballast's VXLAN devices are named this, followed by their VNI (bltun1). */
export const TUNNEL_DEVICE_PREFIX = "bltun";

/** tun: the VXLAN tunnel the director encapsulates each packet in (docs/kernel.md, TUN mode). */
export const tunnelSchema = z.strictObject({
  /** The VXLAN network identifier; the real servers' VXLAN devices use the same. */
  vni: z.number().int().min(1).max(16_777_215).default(1),
  /** The UDP port of the encapsulated packets (the real servers' VXLAN dstport). */
  port: z.number().int().min(1).max(65_535).default(4789),
  /** The MTU inside the tunnel: TCP SYNs get their MSS clamped to it minus 40. */
  mtu: z.number().int().min(576).max(9000).default(1450),
});

/**
 * A virtual service in the kernel (LVS): nftables rules rewrite its packets to a real server of
 * `pool`, and ballast only writes the rules (see docs/kernel.md). `bind` is the VIP and port.
 */
export const kernelListenerSchema = z.strictObject({
  ...listenerBase,
  protocol: z.literal("kernel"),
  pool: z.string().min(1),
  /**
   * nat: DNAT, replies through the director; dr: rewrite the MAC, replies go direct; tun: the
   * same over a VXLAN tunnel to real servers anywhere routable, replies go direct.
   */
  mode: z.enum(["nat", "dr", "tun"]).default("nat"),
  /** The transport of the virtual service (ipvsadm -t / -u). */
  transport: z.enum(["tcp", "udp"]).default("tcp"),
  /** nat: masquerade the forwarded connections so replies come back without a route (off: the director must be the real servers' gateway). */
  masquerade: z.boolean().default(true),
  /** dr, tun: the interface where the VIP's packets arrive (dr: and leave again towards the real servers). */
  interface: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,15}$/, "an interface name such as eth0")
    .optional(),
  /** lc, wlc, sed, nq: how often the maps are re-weighted from the connection counts. */
  reweight_interval: duration.default(1000),
  /** dr, tun: a flow with no packet for this long leaves the director's connection table. */
  flow_timeout: duration.default(300_000),
  /** tun: the VXLAN tunnel to the real servers (ballast creates the director's end). */
  tunnel: tunnelSchema.optional(),
});

/** An authoritative DNS server (UDP and TCP on one port) whose answers can come from pools. */
export const dnsListenerSchema = z.strictObject({ ...listenerBase, ...dnsListenerFields });

export const listenerSchema = z.discriminatedUnion("protocol", [
  httpListenerSchema,
  tcpListenerSchema,
  udpListenerSchema,
  dnsListenerSchema,
  kernelListenerSchema,
]);

export type RouteConfig = z.infer<typeof routeSchema>;
export type HttpListenerConfig = z.infer<typeof httpListenerSchema>;
export type TcpListenerConfig = z.infer<typeof tcpListenerSchema>;
export type UdpListenerConfig = z.infer<typeof udpListenerSchema>;
export type DnsListenerConfig = z.infer<typeof dnsListenerSchema>;
export type KernelListenerConfig = z.infer<typeof kernelListenerSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
