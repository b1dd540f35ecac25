/**
 * MySQL/MariaDB check (HAProxy `option mysql-check`, ProxySQL's monitor): without a user, a
 * server that sends its greeting is up; with a check user, it logs in, reads
 * `@@global.read_only` (0 = primary, 1 = replica, as ProxySQL's read_only monitor) and, on a
 * replica, the replication status: both threads running and `Seconds_Behind_Master` within
 * `max_lag`, or the replica is down for the pool until it catches up.
 */
import { type CheckConnection, runConversation } from "./check-connection.js";
import {
  login,
  type MysqlResult,
  QueryError,
  query,
  quit,
  readGreeting,
} from "./mysql-protocol.js";
import { type CheckResult, failed, type HealthCheck, passed, withRole } from "./types.js";

/** The check's settings, from the config's `health_check` section. */
export interface MysqlCheckOptions {
  /** Log in as this user; without one only the greeting is checked and no role is known. */
  user?: string;
  password?: string;
  /** A replica further behind than this (ms) fails; unset: any lag passes. */
  maxLagMs?: number;
}

/** Healthy when the server greets (and, with a user, logs in and its replication is sound). */
export function createMysqlCheck(options: MysqlCheckOptions): HealthCheck {
  return {
    type: "mysql",
    check: (target, signal) =>
      runConversation(target, signal, async (connection) => {
        const greeting = await readGreeting(connection);
        // MariaDB prefixes "5.5.5-" for old clients' sake; the rest is its real version.
        const server = greeting.serverVersion.replace(/^5\.5\.5-/, "").slice(0, 60);
        if (options.user === undefined) return passed(`greeting from ${server}`, "L7OK");
        await login(connection, greeting, options.user, options.password ?? "");
        const readOnly = (await query(connection, "SELECT @@global.read_only")).rows[0]?.[0];
        if (readOnly === "0") {
          quit(connection);
          return withRole(passed(`primary (read_only=0), ${server}`, "L7OK"), "primary");
        }
        if (readOnly !== "1") return failed(`unexpected read_only value ${readOnly}`, "L7RSP");
        const status = await replicaStatus(connection);
        quit(connection);
        return withRole(judgeReplica(status, options.maxLagMs), "replica");
      }),
  };
}

/** One row of SHOW REPLICA STATUS by column name, or undefined when no replication is set up. */
async function replicaStatus(
  connection: CheckConnection,
): Promise<Map<string, string | null> | undefined> {
  let result: MysqlResult;
  try {
    result = await query(connection, "SHOW REPLICA STATUS");
  } catch (error) {
    // Servers before MySQL 8.0.22 / MariaDB 10.5.1 only know the older words.
    if (!(error instanceof QueryError)) throw error;
    result = await query(connection, "SHOW SLAVE STATUS");
  }
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return new Map(result.columns.map((name, i) => [name, row[i] ?? null]));
}

/** Judges a replica: threads running, lag known and within `maxLagMs`. */
function judgeReplica(
  status: Map<string, string | null> | undefined,
  maxLagMs: number | undefined,
): CheckResult {
  if (status === undefined) return failed("read_only=1 but no replication configured", "L7STS");
  // MySQL 8.0.22+ says Replica/Source; MariaDB and older MySQL say Slave/Master.
  const field = (...names: string[]) => {
    for (const name of names) if (status.has(name)) return status.get(name) ?? null;
    return null;
  };
  const io = field("Replica_IO_Running", "Slave_IO_Running");
  const sql = field("Replica_SQL_Running", "Slave_SQL_Running");
  if (io !== "Yes" || sql !== "Yes") {
    const error = field("Last_IO_Error") || field("Last_SQL_Error");
    const cause = error ? `: ${error.slice(0, 120)}` : "";
    return failed(`replication stopped (IO ${io}, SQL ${sql})${cause}`, "L7STS");
  }
  const lagText = field("Seconds_Behind_Source", "Seconds_Behind_Master");
  if (lagText === null) return failed("replica lag unknown (Seconds_Behind_Master NULL)", "L7STS");
  const lagSeconds = Number(lagText);
  if (maxLagMs !== undefined && lagSeconds * 1000 > maxLagMs) {
    return failed(`replica ${lagSeconds}s behind, over max_lag ${maxLagMs / 1000}s`, "L7STS");
  }
  return passed(`replica ${lagSeconds}s behind`, "L7OK");
}
