/** Makes the checker a pool's `health_check` section asks for. */
import type { HealthCheckConfig } from "../config/schema/health.js";
import { createExecCheck } from "./exec-check.js";
import { createHttpCheck } from "./http-check.js";
import { createMysqlCheck } from "./mysql-check.js";
import { createPingCheck } from "./ping-check.js";
import { createPostgresCheck } from "./postgres-check.js";
import { createRedisCheck } from "./redis-check.js";
import { createSendExpectCheck } from "./send-expect-check.js";
import { createTcpCheck } from "./tcp-check.js";
import type { HealthCheck } from "./types.js";

/** The checker for one validated `health_check` section. */
export function createHealthCheck(config: HealthCheckConfig): HealthCheck {
  switch (config.type) {
    case "tcp":
      return createTcpCheck();
    case "http":
      return createHttpCheck({
        method: config.method,
        path: config.path,
        host: config.host,
        headers: config.headers,
        expectStatus: config.expect_status,
        expectBody: config.expect_body,
        tls: config.tls,
      });
    case "send-expect":
      return createSendExpectCheck({ send: config.send, expect: config.expect });
    case "exec":
      return createExecCheck(config.command);
    case "ping":
      return createPingCheck(config.timeout);
    case "mysql":
      return createMysqlCheck({
        user: config.user,
        password: config.password,
        maxLagMs: config.max_lag,
      });
    case "postgres":
      return createPostgresCheck({
        user: config.user,
        password: config.password,
        database: config.database,
        maxLagMs: config.max_lag,
      });
    case "redis":
      return createRedisCheck({ user: config.user, password: config.password });
  }
}
