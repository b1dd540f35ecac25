/**
 * PostgreSQL check (HAProxy `option pgsql-check` goes as far as the login; Patroni's REST
 * API and pgpool's streaming check go further, as this one does): start up as the check
 * user (trust, password, md5 or SCRAM-SHA-256), then ask `pg_is_in_recovery()` for the role
 * and, on a standby, the replay lag, which fails the check above `max_lag`.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { type CheckConnection, CheckFailure, runConversation } from "./check-connection.js";
import { failed, type HealthCheck, passed, withRole } from "./types.js";

const derive = promisify(pbkdf2);

/** The check's settings, from the config's `health_check` section. */
export interface PostgresCheckOptions {
  user: string;
  password?: string;
  /** Defaults to the user's name, as libpq does. */
  database?: string;
  /** A standby further behind than this (ms) fails; unset: any lag passes. */
  maxLagMs?: number;
}

/** Most PBKDF2 rounds a server may ask for: a hostile one must not burn the CPU. */
const MAX_SCRAM_ITERATIONS = 100_000;

/**
 * Lag as the replay delay, but 0 while everything received is replayed: on an idle primary
 * no transaction arrives and `now() - pg_last_xact_replay_timestamp()` would grow forever.
 * NULL (WAL waiting, and no transaction replayed since the standby started) is unknown.
 */
const ROLE_AND_LAG = `SELECT pg_is_in_recovery(),
  CASE WHEN NOT pg_is_in_recovery() THEN 0
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END`;

/** Healthy when the check user logs in and the role query answers (lag within bounds). */
export function createPostgresCheck(options: PostgresCheckOptions): HealthCheck {
  return {
    type: "postgres",
    check: (target, signal) =>
      runConversation(target, signal, async (connection) => {
        await startUp(connection, options);
        const [recovery, lagText] = await queryRow(connection, ROLE_AND_LAG);
        connection.write(message("X", Buffer.alloc(0)));
        if (recovery === "f")
          return withRole(passed("primary (not in recovery)", "L7OK"), "primary");
        if (recovery !== "t") return failed(`unexpected pg_is_in_recovery() ${recovery}`, "L7RSP");
        if (lagText === null) {
          return withRole(failed("standby lag unknown (WAL not replayed yet)", "L7STS"), "replica");
        }
        const lagSeconds = Math.round(Number(lagText) * 10) / 10;
        const over = options.maxLagMs !== undefined && lagSeconds * 1000 > options.maxLagMs;
        const detail = `standby ${lagSeconds}s behind${over ? `, over max_lag ${options.maxLagMs! / 1000}s` : ""}`;
        return withRole(over ? failed(detail, "L7STS") : passed(detail, "L7OK"), "replica");
      }),
  };
}

/** One frontend message: type byte, length, body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** Reads one backend message; an ErrorResponse fails the check with its text. */
async function readMessage(connection: CheckConnection): Promise<{ type: string; body: Buffer }> {
  const head = await connection.read(5);
  const length = head.readInt32BE(1);
  if (length < 4) throw new CheckFailure("malformed message length", "L7RSP");
  const type = String.fromCharCode(head[0]);
  const body = await connection.read(length - 4);
  if (type === "E") throw new CheckFailure(errorText(body), "L7STS");
  return { type, body };
}

/** The severity and message fields of an ErrorResponse. */
function errorText(body: Buffer): string {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    fields.set(String.fromCharCode(body[offset]), body.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return `${fields.get("S") ?? "ERROR"}: ${(fields.get("M") ?? "server error").slice(0, 200)}`;
}

/** Sends the startup packet and answers whatever authentication the server asks for. */
async function startUp(connection: CheckConnection, options: PostgresCheckOptions): Promise<void> {
  const params = ["user", options.user, "database", options.database ?? options.user];
  params.push("application_name", "ballast-health-check");
  const body = Buffer.from(`${params.join("\0")}\0\0`, "utf8");
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  connection.write(Buffer.concat([head, body]));
  const password = options.password ?? "";
  let scram: ScramState | undefined;
  for (;;) {
    const { type, body: reply } = await readMessage(connection);
    if (type === "Z") return; // ReadyForQuery
    if (type !== "R") continue; // ParameterStatus, BackendKeyData, notices
    if (reply.length < 4) throw new CheckFailure("malformed authentication request", "L7RSP");
    const code = reply.readInt32BE(0);
    if (code === 0) {
      // A server that skips SCRAM's final step has not proven it knows the password.
      if (scram && scram.serverSignature !== undefined && !scram.verified) {
        throw new CheckFailure("SCRAM login ended without the server's signature", "L7RSP");
      }
      continue;
    }
    if (code === 3) connection.write(message("p", Buffer.from(`${password}\0`, "utf8")));
    else if (code === 5) {
      const inner = md5Hex(password + options.user);
      const outer = md5Hex(Buffer.concat([Buffer.from(inner), reply.subarray(4, 8)]));
      connection.write(message("p", Buffer.from(`md5${outer}\0`)));
    } else if (code === 10) {
      if (!reply.includes("SCRAM-SHA-256\0")) {
        throw new CheckFailure("server offers no SCRAM-SHA-256", "L7RSP");
      }
      scram = scramStart();
      const first = Buffer.from(scram.clientFirst, "utf8");
      const length = Buffer.alloc(4);
      length.writeInt32BE(first.length);
      connection.write(
        message("p", Buffer.concat([Buffer.from("SCRAM-SHA-256\0"), length, first])),
      );
    } else if (code === 11 && scram) {
      connection.write(message("p", await scramProof(scram, password, reply.toString("utf8", 4))));
    } else if (code === 12 && scram) {
      const expected = scram.serverSignature ?? Buffer.alloc(0);
      const got = Buffer.from(reply.toString("utf8", 4).replace(/^v=/, ""), "base64");
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        throw new CheckFailure("SCRAM server signature does not match", "L7RSP");
      }
      scram.verified = true;
    } else throw new CheckFailure(`unsupported authentication request ${code}`, "L7RSP");
  }
}

/** Runs a simple query and returns the first row's values as text. */
async function queryRow(connection: CheckConnection, sql: string): Promise<(string | null)[]> {
  connection.write(message("Q", Buffer.from(`${sql}\0`, "utf8")));
  let row: (string | null)[] | undefined;
  for (;;) {
    const { type, body } = await readMessage(connection);
    if (type === "D" && row === undefined) row = dataRow(body);
    if (type === "Z") break;
  }
  if (row === undefined) throw new CheckFailure("the role query returned no row", "L7RSP");
  return row;
}

function dataRow(body: Buffer): (string | null)[] {
  const values: (string | null)[] = [];
  if (body.length < 2) throw new CheckFailure("malformed data row", "L7RSP");
  let offset = 2;
  for (let i = body.readInt16BE(0); i > 0; i--) {
    if (offset + 4 > body.length) throw new CheckFailure("malformed data row", "L7RSP");
    const length = body.readInt32BE(offset);
    offset += 4;
    if (length < 0) values.push(null);
    else {
      if (offset + length > body.length) throw new CheckFailure("malformed data row", "L7RSP");
      values.push(body.toString("utf8", offset, offset + length));
      offset += length;
    }
  }
  return values;
}

function md5Hex(input: string | Buffer): string {
  return createHash("md5").update(input).digest("hex");
}

/** What the SCRAM exchange (RFC 5802, RFC 7677) carries from one step to the next. */
interface ScramState {
  nonce: string;
  clientFirst: string;
  serverSignature?: Buffer;
  verified?: boolean;
}

function scramStart(): ScramState {
  const nonce = randomBytes(18).toString("base64");
  // PostgreSQL takes the user from the startup packet and ignores the SCRAM user name.
  return { nonce, clientFirst: `n,,n=,r=${nonce}` };
}

/** The client-final message for the server-first one; keeps the signature to verify. */
async function scramProof(
  state: ScramState,
  password: string,
  serverFirst: string,
): Promise<Buffer> {
  const attributes = new Map(
    serverFirst.split(",").map((part) => [part.slice(0, 1), part.slice(2)] as const),
  );
  const nonce = attributes.get("r") ?? "";
  const salt = Buffer.from(attributes.get("s") ?? "", "base64");
  const iterations = Number(attributes.get("i"));
  if (!nonce.startsWith(state.nonce) || salt.length === 0) {
    throw new CheckFailure("malformed SCRAM challenge", "L7RSP");
  }
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_SCRAM_ITERATIONS) {
    throw new CheckFailure(`SCRAM iteration count ${attributes.get("i")} refused`, "L7RSP");
  }
  const salted = await derive(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
  const clientKey = hmac(salted, "Client Key");
  const storedKey = createHash("sha256").update(clientKey).digest();
  const finalWithoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${state.clientFirst.slice(3)},${serverFirst},${finalWithoutProof}`;
  const signature = hmac(storedKey, authMessage);
  for (let i = 0; i < clientKey.length; i++) clientKey[i] ^= signature[i];
  state.serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
  return Buffer.from(`${finalWithoutProof},p=${clientKey.toString("base64")}`, "utf8");
}
