/**
 * The part of the MySQL/MariaDB client protocol a health check needs: the server's greeting
 * (Handshake V10), a login (HandshakeResponse41 with mysql_native_password, or the fast path
 * of caching_sha2_password), text queries (COM_QUERY) and COM_QUIT. Only the classic
 * EOF-terminated result sets are asked for, so the reply is small and its shape fixed.
 */
import { createHash } from "node:crypto";
import { type CheckConnection, CheckFailure } from "./check-connection.js";

// Capability flags the check announces (MySQL's CLIENT_*).
const LONG_PASSWORD = 0x1;
const PROTOCOL_41 = 0x200;
const TRANSACTIONS = 0x2000;
const SECURE_CONNECTION = 0x8000;
const PLUGIN_AUTH = 0x80000;
const CLIENT_FLAGS = LONG_PASSWORD | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION | PLUGIN_AUTH;
const UTF8MB4_GENERAL_CI = 45;

/** Most rows kept from one result; a health query returns one or a few. */
const MAX_ROWS = 64;

/** What the server said when the connection opened. */
export interface MysqlGreeting {
  serverVersion: string;
  /** The 20-byte nonce the password is scrambled with. */
  scramble: Buffer;
  /** The authentication plugin the server proposes. */
  plugin: string;
}

/** A text result set: column names and rows of strings (null for SQL NULL). */
export interface MysqlResult {
  columns: string[];
  rows: (string | null)[][];
}

/** Reads one packet's payload and sequence number. */
async function readPacket(connection: CheckConnection): Promise<{ payload: Buffer; seq: number }> {
  const header = await connection.read(4);
  const length = header.readUIntLE(0, 3);
  return { payload: await connection.read(length), seq: header[3] };
}

function writePacket(connection: CheckConnection, seq: number, payload: Buffer): void {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = seq & 0xff;
  connection.write(Buffer.concat([header, payload]));
}

/** The message of an ERR packet: "1045 (28000): Access denied ...". */
function errorText(payload: Buffer): string {
  if (payload.length < 3) return "error packet";
  const code = payload.readUInt16LE(1);
  const hasState = payload[3] === 0x23; // '#'
  const state = hasState ? ` (${payload.toString("latin1", 4, 9)})` : "";
  const message = payload.toString("utf8", hasState ? 9 : 3, Math.min(payload.length, 300));
  return `${code}${state}: ${message}`;
}

/** Reads the server's greeting; an ERR instead (too many connections, host blocked) fails. */
export async function readGreeting(connection: CheckConnection): Promise<MysqlGreeting> {
  const { payload } = await readPacket(connection);
  if (payload[0] === 0xff) throw new CheckFailure(`server refused: ${errorText(payload)}`, "L7RSP");
  if (payload[0] !== 10) {
    throw new CheckFailure(`not a MySQL greeting (protocol byte ${payload[0]})`, "L7RSP");
  }
  const reader = new Reader(payload, 1);
  const serverVersion = reader.nulString();
  reader.skip(4); // connection id
  const part1 = reader.bytes(8);
  reader.skip(1);
  const lowFlags = reader.uint(2);
  if (reader.done) return { serverVersion, scramble: part1, plugin: "mysql_native_password" };
  reader.skip(3); // character set, status flags
  const flags = lowFlags | (reader.uint(2) << 16);
  const dataLength = reader.uint(1);
  reader.skip(10);
  let scramble = part1;
  if (flags & SECURE_CONNECTION) {
    const part2 = reader.bytes(Math.max(13, dataLength - 8));
    // The second part ends in a NUL that is not part of the nonce.
    scramble = Buffer.concat([part1, part2.subarray(0, part2.length - 1)]);
  }
  const plugin = flags & PLUGIN_AUTH && !reader.done ? reader.nulString() : "mysql_native_password";
  return { serverVersion, scramble, plugin };
}

/** Logs in as `user`; fails with the server's words when it refuses. */
export async function login(
  connection: CheckConnection,
  greeting: MysqlGreeting,
  user: string,
  password: string,
): Promise<void> {
  const plugin = isSupported(greeting.plugin) ? greeting.plugin : "mysql_native_password";
  const head = Buffer.alloc(32);
  head.writeUInt32LE(CLIENT_FLAGS >>> 0, 0);
  head.writeUInt32LE(16 * 1024 * 1024, 4);
  head[8] = UTF8MB4_GENERAL_CI;
  const auth = scrambleFor(plugin, password, greeting.scramble);
  writePacket(
    connection,
    1,
    Buffer.concat([
      head,
      nulTerminated(user),
      Buffer.from([auth.length]),
      auth,
      nulTerminated(plugin),
    ]),
  );
  let { payload, seq } = await readPacket(connection);
  if (payload[0] === 0xfe && payload.length > 1) {
    // AuthSwitchRequest: the account uses another plugin; answer with its scramble.
    const reader = new Reader(payload, 1);
    const wanted = reader.nulString();
    if (!isSupported(wanted)) {
      throw new CheckFailure(`the check user's plugin ${wanted} is not supported`, "L7RSP");
    }
    const nonce = reader.rest();
    const salt = nonce[nonce.length - 1] === 0 ? nonce.subarray(0, nonce.length - 1) : nonce;
    writePacket(connection, seq + 1, scrambleFor(wanted, password, salt));
    ({ payload, seq } = await readPacket(connection));
  }
  if (payload[0] === 0x01 && payload[1] === 0x03) {
    ({ payload, seq } = await readPacket(connection)); // caching_sha2 fast path: OK follows
  } else if (payload[0] === 0x01 && payload[1] === 0x04) {
    throw new CheckFailure(
      "caching_sha2_password wants a full login (TLS or RSA): give the check user mysql_native_password",
      "L7RSP",
    );
  }
  if (payload[0] === 0xff) throw new CheckFailure(`login refused: ${errorText(payload)}`, "L7STS");
  if (payload[0] !== 0x00) throw new CheckFailure("unexpected reply to the login", "L7RSP");
}

/** Runs one text query and returns its rows; an ERR fails with the server's message. */
export async function query(connection: CheckConnection, sql: string): Promise<MysqlResult> {
  writePacket(connection, 0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, "utf8")]));
  const first = (await readPacket(connection)).payload;
  if (first[0] === 0xff) throw new QueryError(`${sql}: ${errorText(first)}`);
  if (first[0] === 0x00) return { columns: [], rows: [] };
  const columnCount = new Reader(first, 0).lengthInt();
  if (columnCount === null || columnCount > 1024) {
    throw new CheckFailure("malformed result header", "L7RSP");
  }
  const columns: string[] = [];
  for (let i = 0; i < columnCount; i++) {
    const reader = new Reader((await readPacket(connection)).payload, 0);
    for (let skip = 0; skip < 4; skip++) reader.lengthString(); // catalog, schema, table, org_table
    columns.push(reader.lengthString() ?? "");
  }
  if (!isEof((await readPacket(connection)).payload)) {
    throw new CheckFailure("malformed result: no EOF after the columns", "L7RSP");
  }
  const rows: (string | null)[][] = [];
  for (;;) {
    const payload = (await readPacket(connection)).payload;
    if (isEof(payload)) break;
    if (payload[0] === 0xff) throw new QueryError(`${sql}: ${errorText(payload)}`);
    if (rows.length >= MAX_ROWS) continue; // read on to the end, keep the first ones
    const reader = new Reader(payload, 0);
    const row: (string | null)[] = [];
    for (let i = 0; i < columnCount; i++) row.push(reader.lengthString());
    rows.push(row);
  }
  return { columns, rows };
}

/** Says goodbye (COM_QUIT) so the server does not log an aborted connection. */
export function quit(connection: CheckConnection): void {
  writePacket(connection, 0, Buffer.from([0x01]));
}

/** The server answered a query with an error (the statement or a privilege is missing). */
export class QueryError extends CheckFailure {
  constructor(message: string) {
    super(message, "L7RSP");
  }
}

function isEof(payload: Buffer): boolean {
  return payload[0] === 0xfe && payload.length < 9;
}

function isSupported(plugin: string): boolean {
  return plugin === "mysql_native_password" || plugin === "caching_sha2_password";
}

/** The password proof each plugin expects; an empty password sends nothing. */
function scrambleFor(plugin: string, password: string, nonce: Buffer): Buffer {
  if (password === "") return Buffer.alloc(0);
  const algorithm = plugin === "caching_sha2_password" ? "sha256" : "sha1";
  const hash = (...parts: Buffer[]) => {
    const h = createHash(algorithm);
    for (const part of parts) h.update(part);
    return h.digest();
  };
  const stage1 = hash(Buffer.from(password, "utf8"));
  const stage2 = hash(stage1);
  // native: SHA1(pw) xor SHA1(nonce + SHA1(SHA1(pw)));
  // caching_sha2: SHA256(pw) xor SHA256(SHA256(SHA256(pw)) + nonce).
  const mask = algorithm === "sha1" ? hash(nonce, stage2) : hash(stage2, nonce);
  for (let i = 0; i < stage1.length; i++) stage1[i] ^= mask[i];
  return stage1;
}

function nulTerminated(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, "utf8"), Buffer.alloc(1)]);
}

/** A bounds-checked cursor over one packet: a short packet fails the check, never crashes. */
class Reader {
  constructor(
    private readonly payload: Buffer,
    private offset: number,
  ) {}

  get done(): boolean {
    return this.offset >= this.payload.length;
  }

  skip(count: number): void {
    this.bytes(count);
  }

  bytes(count: number): Buffer {
    if (this.offset + count > this.payload.length) {
      throw new CheckFailure("malformed packet: shorter than it claims", "L7RSP");
    }
    const bytes = this.payload.subarray(this.offset, this.offset + count);
    this.offset += count;
    return bytes;
  }

  rest(): Buffer {
    return this.bytes(this.payload.length - this.offset);
  }

  uint(count: number): number {
    return this.bytes(count).readUIntLE(0, count);
  }

  nulString(): string {
    const end = this.payload.indexOf(0, this.offset);
    const stop = end < 0 ? this.payload.length : end;
    const text = this.payload.toString("utf8", this.offset, stop);
    this.offset = stop + 1;
    return text;
  }

  /** A length-encoded integer; null for the NULL marker (0xfb). */
  lengthInt(): number | null {
    const first = this.uint(1);
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.uint(2);
    if (first === 0xfd) return this.uint(3);
    if (first === 0xfe) {
      const value = this.bytes(8).readBigUInt64LE(0);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new CheckFailure("malformed packet: length out of range", "L7RSP");
      }
      return Number(value);
    }
    throw new CheckFailure("malformed packet: bad length prefix", "L7RSP");
  }

  lengthString(): string | null {
    const length = this.lengthInt();
    return length === null ? null : this.bytes(length).toString("utf8");
  }
}
