/**
 * Redis check (HAProxy `option redis-check` plus the `INFO replication` role test HAProxy
 * users write as `tcp-check expect string role:master`): `PING` must answer `+PONG`, and
 * `INFO replication` names the role; a replica whose link to its primary is down fails.
 */
import { type CheckConnection, CheckFailure, runConversation } from "./check-connection.js";
import { failed, type HealthCheck, passed, withRole } from "./types.js";

/** The check's settings, from the config's `health_check` section. */
export interface RedisCheckOptions {
  /** Sent as `AUTH [user] password` first when set. */
  user?: string;
  password?: string;
}

/** Largest INFO reply read; the replication section is a few hundred bytes. */
const MAX_INFO_BYTES = 64 * 1024;

/** Healthy when the server answers PING and, as a replica, its link to the primary is up. */
export function createRedisCheck(options: RedisCheckOptions): HealthCheck {
  return {
    type: "redis",
    check: (target, signal) =>
      runConversation(target, signal, async (connection) => {
        if (options.password !== undefined) {
          const words = options.user === undefined ? [] : [options.user];
          connection.write(command("AUTH", ...words, options.password));
          const reply = await connection.readLine();
          if (reply !== "+OK") return failed(`AUTH refused: ${reply.slice(0, 120)}`, "L7STS");
        }
        connection.write(command("PING"));
        const pong = await connection.readLine();
        if (pong !== "+PONG") return failed(`PING answered ${pong.slice(0, 120)}`, "L7STS");
        connection.write(command("INFO", "replication"));
        const info = await readBulk(connection);
        const field = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
        const role = field("role");
        if (role === "master") return withRole(passed("primary (role:master)", "L7OK"), "primary");
        if (role !== "slave") return failed(`unexpected role ${role}`, "L7RSP");
        const link = field("master_link_status");
        const replica = (ok: boolean, detail: string) =>
          withRole(ok ? passed(detail, "L7OK") : failed(detail, "L7STS"), "replica");
        return replica(link === "up", `replica, link to primary ${link ?? "unknown"}`);
      }),
  };
}

/** A command as a RESP array, so a password with spaces or CRLF stays one argument. */
function command(...words: string[]): Buffer {
  const parts = [`*${words.length}\r\n`];
  for (const word of words) parts.push(`$${Buffer.byteLength(word)}\r\n${word}\r\n`);
  return Buffer.from(parts.join(""), "utf8");
}

/** Reads a bulk string reply (`$n`, n bytes, CRLF); an error reply fails the check. */
async function readBulk(connection: CheckConnection): Promise<string> {
  const header = await connection.readLine();
  if (!header.startsWith("$")) {
    throw new CheckFailure(`INFO answered ${header.slice(0, 120)}`, "L7STS");
  }
  const length = Number(header.slice(1));
  if (!Number.isInteger(length) || length < 0 || length > MAX_INFO_BYTES) {
    throw new CheckFailure(`INFO reply of ${header.slice(1, 20)} bytes`, "L7RSP");
  }
  return (await connection.read(length + 2)).toString("utf8", 0, length);
}
