/** The whole configuration file: listeners, pools, admin and process settings. */
import { isIP } from "node:net";
import { z } from "zod";
import { adminSchema } from "./admin.js";
import { bindConflicts } from "./bind-conflicts.js";
import { cacheZonesSchema } from "./cache.js";
import type { HostPort } from "./common.js";
import { dnsListenerIssues } from "./dns-checks.js";
import { haIssues, haSchema } from "./ha.js";
import {
  KERNEL_ALGORITHMS,
  listenerSchema,
  TUNNEL_DEVICE_PREFIX,
  tunnelSchema,
} from "./listener.js";
import { poolSchema } from "./pool.js";
import { registrySchema } from "./registry.js";

export * from "./admin.js";
export * from "./cache.js";
export * from "./common.js";
export * from "./dns.js";
export * from "./ha.js";
export * from "./health.js";
export * from "./listener.js";
export * from "./pool.js";
export * from "./registry.js";

export const configSchema = z
  .strictObject({
    listeners: z.array(listenerSchema).min(1, "at least one listener is needed"),
    pools: z.record(
      z.string().regex(/^[A-Za-z0-9_.-]+$/, "pool names use letters, digits, _ . -"),
      poolSchema,
    ),
    admin: adminSchema.optional(),
    /** HTTP cache zones that routes name in their `cache` option. */
    caches: cacheZonesSchema.default({}),
    /** The service registry, served on the admin API. */
    registry: registrySchema.optional(),
    /** This director's VRRP settings and health file, for keepalived (docs/kernel-ha.md). */
    ha: haSchema.optional(),
    /** Worker processes for the data planes (1 = this process only). */
    workers: z.number().int().min(1).max(256).default(1),
    log: z
      .strictObject({
        level: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info"),
      })
      .default({ level: "info" }),
  })
  .superRefine((config, ctx) => {
    // Every pool a listener or route names must exist.
    const known = Object.keys(config.pools);
    const check = (name: string | undefined, path: (string | number)[]) => {
      // Own keys only: `in` would find "constructor" or "toString" on the prototype.
      if (name !== undefined && !Object.hasOwn(config.pools, name)) {
        ctx.addIssue({
          code: "custom",
          path,
          message: `unknown pool "${name}"; defined pools: ${known.join(", ") || "(none)"}`,
        });
      }
    };
    // A backend's id (its name, else its address) names it in the admin API, sticky cookies
    // and persistence tables, so two backends of a pool may not share one.
    for (const [poolName, pool] of Object.entries(config.pools)) {
      const ids = new Set<string>();
      pool.backends.forEach((backend, i) => {
        // When the address itself was refused, zod still runs this check on the raw input:
        // there is nothing to compare then.
        const { host, port } = backend.address ?? {};
        if (typeof host !== "string") return;
        const id = backend.name ?? (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
        if (ids.has(id)) {
          ctx.addIssue({
            code: "custom",
            path: ["pools", poolName, "backends", i],
            message: `duplicate backend "${id}"; give each backend of a pool its own address or name`,
          });
        }
        ids.add(id);
      });
    }
    for (const [poolName, pool] of Object.entries(config.pools)) {
      if (pool.discovery !== undefined && config.registry === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["pools", poolName, "discovery"],
          message: `pool "${poolName}" takes its backends from the registry, but there is no registry: section`,
        });
      }
    }
    if (config.ha !== undefined) {
      for (const issue of haIssues(config.ha, config)) {
        ctx.addIssue({ code: "custom", path: ["ha", ...issue.path], message: issue.message });
      }
    }
    // Two listeners on one address: the second would fail at start (EADDRINUSE).
    for (const { index, earlier } of bindConflicts(config.listeners)) {
      const listener = config.listeners[index];
      const other = config.listeners[earlier];
      const transport = listener.protocol === "udp" ? "UDP" : "TCP";
      ctx.addIssue({
        code: "custom",
        path: ["listeners", index, "bind"],
        message: `listener "${listener.name}" binds ${formatBind(listener.bind)}, but listener "${other.name}" (listeners[${earlier}]) already takes that ${transport} port on ${formatBind(other.bind)}; give each listener its own port or address`,
      });
    }
    for (const issue of tunnelConflicts(config.listeners)) {
      ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    }
    const names = new Set<string>();
    config.listeners.forEach((listener, i) => {
      if (names.has(listener.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", i, "name"],
          message: `duplicate listener name "${listener.name}"`,
        });
      }
      names.add(listener.name);
      if (listener.protocol === "dns") {
        for (const issue of dnsListenerIssues(listener, known)) {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", i, ...issue.path],
            message: issue.message,
          });
        }
      } else if (listener.protocol === "http") {
        check(listener.default_pool, ["listeners", i, "default_pool"]);
        listener.routes.forEach((route, j) => {
          check(route.pool, ["listeners", i, "routes", j, "pool"]);
          const zone = route.cache?.zone;
          if (zone !== undefined && !Object.hasOwn(config.caches, zone)) {
            ctx.addIssue({
              code: "custom",
              path: ["listeners", i, "routes", j, "cache", "zone"],
              message: `unknown cache zone "${zone}"; defined zones: ${Object.keys(config.caches).join(", ") || "(none): add it under caches"}`,
            });
          }
        });
      } else {
        check(listener.pool, ["listeners", i, "pool"]);
        if (listener.protocol === "kernel" && config.workers > 1) {
          ctx.addIssue({
            code: "custom",
            path: ["workers"],
            message: `kernel listener "${listener.name}" needs workers: 1: one process writes the nftables rules (the kernel does the forwarding, not the workers)`,
          });
        }
        if (listener.protocol === "kernel") {
          for (const issue of kernelListenerIssues(listener, i, config.pools[listener.pool])) {
            ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
          }
        }
        // An L4 listener sees no request: only the client's address (and port) can be hashed.
        const hashKey = Object.hasOwn(config.pools, listener.pool)
          ? config.pools[listener.pool].hash_key
          : undefined;
        if (hashKey !== undefined && hashKey !== "client_ip" && hashKey !== "client_ip_port") {
          ctx.addIssue({
            code: "custom",
            path: ["pools", listener.pool, "hash_key"],
            message: `pool "${listener.pool}" serves ${listener.protocol} listener "${listener.name}", which can only hash "client_ip" or "client_ip_port"`,
          });
        }
      }
    });
  });

/** What nftables cannot do for a kernel listener: its VIP, its pool's algorithm and addresses. */
function kernelListenerIssues(
  listener: Extract<z.infer<typeof listenerSchema>, { protocol: "kernel" }>,
  listenerIndex: number,
  pool: z.infer<typeof poolSchema> | undefined,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const index = ["listeners", listenerIndex];
  if (isIP(listener.bind.host) !== 4 || listener.bind.host === "0.0.0.0") {
    issues.push({
      path: [...index, "bind"],
      message: `a kernel listener binds its VIP: an IPv4 address and port such as "10.0.0.100:80", not "${listener.bind.host}"`,
    });
  }
  if (listener.mode !== "nat" && listener.interface === undefined) {
    issues.push({
      path: [...index, "interface"],
      message: `mode ${listener.mode} needs the interface where the VIP's packets arrive, such as eth0`,
    });
  }
  if (listener.mode !== "tun" && listener.tunnel !== undefined) {
    issues.push({
      path: [...index, "tunnel"],
      message: `tunnel applies to mode tun only; listener "${listener.name}" is mode ${listener.mode}`,
    });
  }
  if (listener.mode === "tun" && listener.interface?.startsWith(TUNNEL_DEVICE_PREFIX)) {
    issues.push({
      path: [...index, "interface"],
      message: `"${listener.interface}" is a tunnel device of ballast; give the interface where the clients' packets arrive`,
    });
  }
  if (pool === undefined) return issues;
  if (!(KERNEL_ALGORITHMS as readonly string[]).includes(pool.algorithm)) {
    issues.push({
      path: ["pools", listener.pool, "algorithm"],
      message: `pool "${listener.pool}" serves kernel listener "${listener.name}", where nftables schedules: use one of ${KERNEL_ALGORITHMS.join(", ")}`,
    });
  }
  pool.backends.forEach((backend, i) => {
    const host = backend.address?.host;
    if (typeof host === "string" && isIP(host) !== 4) {
      issues.push({
        path: ["pools", listener.pool, "backends", i, "address"],
        message: `kernel listener "${listener.name}" rewrites packets to IPv4 real servers; "${host}" is not an IPv4 address`,
      });
    }
  });
  return issues;
}

/**
 * TUN listeners of one VNI share the director's VXLAN device of that VNI, so they must agree
 * on its UDP port and MTU (the kernel allows one device per VNI and port).
 */
function tunnelConflicts(
  listeners: readonly z.infer<typeof listenerSchema>[],
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const byVni = new Map<number, { name: string; port: number; mtu: number }>();
  listeners.forEach((listener, i) => {
    if (listener.protocol !== "kernel" || listener.mode !== "tun") return;
    // zod runs this check on the raw input even when the tunnel itself was refused.
    const parsed = tunnelSchema.safeParse(listener.tunnel ?? {});
    if (!parsed.success) return;
    const tunnel = parsed.data;
    const first = byVni.get(tunnel.vni);
    if (first === undefined) {
      byVni.set(tunnel.vni, { name: listener.name, ...tunnel });
    } else if (first.port !== tunnel.port || first.mtu !== tunnel.mtu) {
      issues.push({
        path: ["listeners", i, "tunnel"],
        message: `listeners "${first.name}" and "${listener.name}" share VXLAN VNI ${tunnel.vni} (one device) but not its port and mtu: give them the same, or another vni`,
      });
    }
  });
  return issues;
}

function formatBind({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A validated configuration, defaults filled in. */
export type Config = z.infer<typeof configSchema>;
