/**
 * The `ha:` section: this director's part in a pair (or more) of directors that hold virtual
 * addresses by VRRP with keepalived. ballast writes a health file keepalived tracks, and
 * `ballast ha keepalived-config` prints the keepalived.conf that goes with it (docs/kernel-ha.md).
 */
import { isIP } from "node:net";
import { z } from "zod";
import { cidr, positiveDuration } from "./common.js";

/** Interface names as the kernel allows them (at most 15 bytes, no slash or blank). */
const INTERFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;
/**
 * File paths end up in keepalived.conf and in the shell line of its track script, so only
 * characters that need no quoting in either are accepted.
 */
const SAFE_PATH = /^\/[A-Za-z0-9_./-]+$/;
/** keepalived's names (instance, script, router id): no blanks, braces or comment marks. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const address = z
  .string()
  .refine((text) => isIP(text) !== 0, 'expected an IP address such as "10.0.0.2"');
const interfaceName = z.string().regex(INTERFACE, 'expected an interface name such as "eth0"');
const safePath = z
  .string()
  .regex(SAFE_PATH, "expected an absolute path of letters, digits and _ . / - only");

export const haSchema = z.strictObject({
  /** The interface VRRP advertisements go out on (and the VIPs are added to by default). */
  interface: interfaceName,
  /** VRRP's router id: the same on every director of the pair, unique on the link. */
  virtual_router_id: z.number().int().min(1).max(255),
  /** This director's VRRP priority when fit (1..254); the higher one holds the VIPs. */
  priority: z.number().int().min(1).max(254),
  /**
   * The virtual addresses, with their prefix ("10.0.0.100/24"; a bare address means /32), on
   * `interface`, or `{ address, interface }` for another one (NAT's inside gateway address).
   */
  vips: z
    .array(z.union([cidr, z.strictObject({ address: cidr, interface: interfaceName })]))
    .min(1, "at least one virtual address is needed"),
  /** How often the master advertises; the backup takes over after about 3 of these. */
  advert_interval: positiveDuration.default(1000),
  /** This director's address for unicast VRRP; keepalived picks the interface's when unset. */
  unicast_src: address.optional(),
  /** The other directors, for unicast VRRP; empty means multicast (224.0.0.18). */
  unicast_peers: z.array(address).default([]),
  /** A director that comes back does not take the VIPs from a working master. */
  nopreempt: z.boolean().default(false),
  /** The health file ballast writes and keepalived tracks (a number: 0 = fit). */
  health_file: safePath.default("/run/ballast/ha-health"),
  /** How often ballast rewrites the file while it runs, so keepalived can tell it is alive. */
  heartbeat: positiveDuration.default(1000),
  /** keepalived's track script fails (the director goes to FAULT) when the file is older. */
  stale_after: positiveDuration.default(3000),
  /** How much the priority drops while the director is unfit (too few backends up). */
  unfit_penalty: z.number().int().min(1).max(253).default(100),
  /** An unfit director has fewer than this many backends available in a tracked pool. */
  min_backends_up: z.number().int().min(1).default(1),
  /** The pools that count for fitness; every pool of the config when unset. */
  pools: z.array(z.string()).optional(),
  /** Run by keepalived on every VRRP state change (keepalived's `notify`). */
  notify: safePath.optional(),
  /** Connection-state sync with conntrackd over a dedicated link (docs/kernel-ha.md). */
  sync: z
    .strictObject({
      /** The dedicated link between the directors. */
      interface: interfaceName,
      /** This director's address on it. */
      address,
      /** The other director's address on it. */
      peer: address,
      port: z.number().int().min(1).max(65535).default(3780),
      /** Where conntrackd's config is; keepalived's notify commands name it. */
      config_file: safePath.default("/etc/conntrackd/conntrackd.conf"),
      /** conntrackd's control socket and lock file (one pair per conntrackd on a host). */
      socket: safePath.default("/var/run/conntrackd.ctl"),
      lock_file: safePath.default("/var/lock/conntrackd.lock"),
    })
    .optional(),
  /** keepalived's vrrp_instance name. */
  instance: z.string().regex(NAME, "letters, digits, _ . - only").default("ballast"),
});

export type HaConfig = z.infer<typeof haSchema>;

/** A VIP with the interface it goes on. */
export interface PlacedVip {
  address: string;
  interface: string;
}

/** Every VIP of the section with its interface (`interface` unless it names another). */
export function placedVips(ha: Pick<HaConfig, "vips" | "interface">): PlacedVip[] {
  return ha.vips.map((vip) =>
    typeof vip === "string" ? { address: vip, interface: ha.interface } : vip,
  );
}

/** A problem of the `ha` section that needs the rest of the config to be seen. */
export interface HaIssue {
  path: (string | number)[];
  message: string;
}

/** Cross-section checks: tracked pools exist, one process only, a heartbeat below the limit. */
export function haIssues(
  ha: HaConfig,
  config: { pools: Record<string, unknown>; workers: number },
): HaIssue[] {
  const issues: HaIssue[] = [];
  const known = Object.keys(config.pools);
  ha.pools?.forEach((name, i) => {
    if (!Object.hasOwn(config.pools, name)) {
      issues.push({
        path: ["pools", i],
        message: `unknown pool "${name}"; defined pools: ${known.join(", ") || "(none)"}`,
      });
    }
  });
  if (config.workers > 1) {
    // Each worker holds its own pools and would write its own verdict to the one file.
    issues.push({
      path: [],
      message: "ha needs workers: 1 (each worker would write its own health to the one file)",
    });
  }
  if (ha.heartbeat * 2 > ha.stale_after) {
    issues.push({
      path: ["stale_after"],
      message: `stale_after (${ha.stale_after} ms) must be at least twice the heartbeat (${ha.heartbeat} ms), or a busy moment makes a live ballast look dead`,
    });
  }
  // One VRRP instance advertises for one address family; keepalived moves the other
  // family's addresses only as "excluded" ones, outside the protocol.
  const families = new Set(placedVips(ha).map((vip) => isIP(vip.address.split("/")[0])));
  if (families.size > 1) {
    issues.push({
      path: ["vips"],
      message:
        "vips mixes IPv4 and IPv6; one VRRP instance holds one family: list one here (docs/kernel-ha.md says how to add the other)",
    });
  }
  if (ha.unicast_src !== undefined && ha.unicast_peers.includes(ha.unicast_src)) {
    issues.push({ path: ["unicast_peers"], message: "unicast_peers must not list unicast_src" });
  }
  return issues;
}
