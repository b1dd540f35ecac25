/** The `health_check` and `passive` sections of a pool: active checks and outlier detection. */
import { z } from "zod";
import { duration, port, positiveDuration } from "./common.js";

const statusRange = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$|^[1-5]xx$/, 'expected "200", "200-399" or "2xx"'),
]);

/** A regular expression, checked at load time so a typo is a config error, not a dead check. */
const pattern = z.string().refine(
  (text) => {
    try {
      new RegExp(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a valid regular expression" },
);

const checkTiming = {
  /** Time between checks of one backend. */
  interval: positiveDuration.default(2000),
  /** A check that takes longer fails. */
  timeout: positiveDuration.default(1000),
  /** Random spread added to each interval, as a fraction of it (0.1 = ±10%). */
  jitter: z.number().min(0).max(1).default(0.1),
  /** Consecutive successes that bring a down backend up (HAProxy `rise`). */
  rise: z.number().int().min(1).default(2),
  /** Consecutive failures that take an up backend down (HAProxy `fall`). */
  fall: z.number().int().min(1).default(3),
  /**
   * Health before a backend's first check (HAProxy `init-state`): `up` serves at once;
   * `down` serves nothing until a first check passes (checks then start at once).
   */
  initial_state: z.enum(["up", "down"]).default("up"),
  /** Check this port instead of the backend's. */
  port: port.optional(),
  /** Check this address instead of the backend's. */
  address: z.string().optional(),
};

export const healthCheckSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("tcp"), ...checkTiming }),
  z.strictObject({
    type: z.literal("http"),
    ...checkTiming,
    method: z.string().default("GET"),
    path: z.string().startsWith("/").default("/"),
    host: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Statuses that count as healthy. */
    expect_status: z.array(statusRange).default(["200-399"]),
    /** A regular expression the body must match. */
    expect_body: pattern.optional(),
    tls: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal("send-expect"),
    ...checkTiming,
    /** Bytes to send; `\r\n` escapes are honoured. */
    send: z.string().default(""),
    /** A regular expression the reply must match. */
    expect: pattern,
  }),
  z.strictObject({
    type: z.literal("exec"),
    ...checkTiming,
    /** argv; "{host}" and "{port}" are replaced. Exit 0 means healthy (keepalived MISC_CHECK). */
    command: z.array(z.string()).min(1),
  }),
  z.strictObject({ type: z.literal("ping"), ...checkTiming }),
  z.strictObject({
    type: z.literal("mysql"),
    ...checkTiming,
    /** Log in as this user; without one only the server's greeting is checked (no role). */
    user: z.string().min(1).max(80).optional(),
    password: z.string().max(1024).optional(),
    /** A replica further behind (Seconds_Behind_Master) fails the check. */
    max_lag: duration.optional(),
  }),
  z.strictObject({
    type: z.literal("postgres"),
    ...checkTiming,
    user: z.string().min(1).max(63),
    password: z.string().max(1024).optional(),
    /** Defaults to the user's name. */
    database: z.string().min(1).max(63).optional(),
    /** A standby further behind (replay delay) fails the check. */
    max_lag: duration.optional(),
  }),
  z.strictObject({
    type: z.literal("redis"),
    ...checkTiming,
    /** ACL user for `AUTH user password`; without it `AUTH password`. */
    user: z.string().min(1).max(256).optional(),
    password: z.string().max(1024).optional(),
  }),
]);

/** The check types that report a backend's role, which a pool's `role` needs. */
export const roleReportingChecks = ["mysql", "postgres", "redis"] as const;

export const passiveSchema = z.strictObject({
  /** Failures within `fail_timeout` that suspend a backend (nginx `max_fails`; 0 = off). */
  max_fails: z.number().int().min(0).default(1),
  /** The window for counting failures, and how long a suspension lasts (nginx). */
  fail_timeout: duration.default(10_000),
});

export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
export type PassiveConfig = z.infer<typeof passiveSchema>;
