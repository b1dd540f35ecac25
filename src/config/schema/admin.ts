/** The `admin:` section: where the admin API listens, its token, and who may reach it. */
import { isIP } from "node:net";
import { z } from "zod";
import { bindAddress, type HostPort } from "./common.js";

export const adminSchema = z
  .strictObject({
    /** The admin API listens here; loopback by default. */
    bind: bindAddress.default({ host: "127.0.0.1", port: 9090 }),
    /** Every admin request needs `Authorization: Bearer <token>`; without one it is read-only. */
    token: z.string().min(1).optional(),
    /** Accepts a token-less (read-only) admin API on a non-loopback address. */
    insecure_public: z.boolean().default(false),
    /** Host names besides IP literals and localhost that clients may use to reach the API. */
    allowed_hosts: z
      .array(z.string().regex(/^[A-Za-z0-9.-]+$/, "a DNS name such as lb1.internal"))
      .default([]),
  })
  .superRefine((admin, ctx) => {
    // When the bind address itself was refused, zod may still run this on the raw input.
    if (typeof admin.bind?.host !== "string") return;
    // A token-less API answers anyone who reaches it; off loopback that is the network.
    if (admin.token === undefined && !admin.insecure_public && !isLoopbackHost(admin.bind.host)) {
      ctx.addIssue({
        code: "custom",
        path: ["bind"],
        message: `the admin API on ${formatBind(admin.bind)} would have no token, so anyone who can reach it reads the config and state; set admin.token, bind it to 127.0.0.1, or set admin.insecure_public: true to serve it read-only without a token`,
      });
    }
  });

export type AdminConfig = z.infer<typeof adminSchema>;

/** True for addresses only this host can reach: 127.0.0.0/8, ::1 and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase();
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || bare === "0:0:0:0:0:0:0:1";
  return false;
}

/** The warning `check` and `start` give for an admin API that is public without a token, if any. */
export function publicAdminWarning(admin: AdminConfig | undefined): string | undefined {
  if (admin === undefined || admin.token !== undefined || isLoopbackHost(admin.bind.host)) {
    return undefined;
  }
  return `the admin API on ${formatBind(admin.bind)} is served without a token (admin.insecure_public: true): anyone who can reach it reads the config, backends and metrics; it stays read-only`;
}

function formatBind({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
