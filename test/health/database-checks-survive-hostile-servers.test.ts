/**
 * The database checks read bytes from servers that may be broken or hostile: a short or
 * lying packet, a huge length, silence or garbage must fail the check with a clear detail,
 * never throw, hang past the timeout or buffer without bound.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import {
  createMysqlCheck,
  createPostgresCheck,
  createRedisCheck,
  type HealthCheck,
} from "../../src/health/index.js";
import { closeServer, portOf } from "./helpers.js";

const servers: Server[] = [];
const sockets = new Set<Socket>();
after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) await closeServer(server);
});

/** A loopback server that answers every connection with `behave`. */
async function fakeServer(behave: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    sockets.add(socket);
    behave(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return portOf(server);
}

/** One MySQL packet: 3-byte length, sequence, payload. */
function packet(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = seq;
  return Buffer.concat([header, payload]);
}

async function runCheck(check: HealthCheck, port: number, timeoutMs = 500) {
  return check.check({ host: "127.0.0.1", port }, AbortSignal.timeout(timeoutMs));
}

const mysql = createMysqlCheck({ user: "check", password: "secret" });

describe("database checks against hostile servers", () => {
  it("mysql: a greeting shorter than it claims fails as a malformed reply", async () => {
    const port = await fakeServer((socket) => socket.end(packet(0, Buffer.from([10, 0x41]))));
    const result = await runCheck(mysql, port);
    assert.equal(result.ok, false);
    assert.equal(result.status, "L7RSP");
    assert.match(result.detail, /malformed packet|closed by the server/);
  });

  it("mysql: an error instead of a greeting is reported with the server's words", async () => {
    const error = Buffer.concat([
      Buffer.from([0xff, 0x10, 0x04]),
      Buffer.from("Too many connections"),
    ]);
    const port = await fakeServer((socket) => socket.end(packet(0, error)));
    const result = await runCheck(mysql, port);
    assert.deepEqual([result.ok, result.status], [false, "L7RSP"]);
    assert.match(result.detail, /server refused: 1040: Too many connections/);
  });

  it("mysql: a packet claiming 16 MB fails at once, before any of it is buffered", async () => {
    const port = await fakeServer((socket) => socket.write(Buffer.from([0xff, 0xff, 0xff, 0])));
    const result = await runCheck(mysql, port, 5000);
    assert.deepEqual([result.ok, result.status], [false, "L7RSP"]);
    assert.match(result.detail, /reply claims 16777215 bytes/);
  });

  it("mysql: a server that goes silent mid-greeting fails at the check's timeout", async () => {
    const port = await fakeServer((socket) => socket.write(Buffer.from([60, 0, 0, 0, 10])));
    const started = Date.now();
    const result = await runCheck(mysql, port, 300);
    assert.deepEqual([result.ok, result.status], [false, "L7TOUT"]);
    assert.ok(Date.now() - started < 3000, "bounded by the check's timeout");
  });

  it("mysql: a non-MySQL server (an HTTP answer) fails as not a greeting", async () => {
    const port = await fakeServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const result = await runCheck(mysql, port);
    assert.equal(result.ok, false);
    assert.match(result.detail, /not a MySQL greeting|reply claims \d+ bytes/);
  });

  it("postgres: a negative message length fails as malformed", async () => {
    const port = await fakeServer((socket) =>
      socket.end(Buffer.from([0x52, 0xff, 0xff, 0xff, 0xf0])),
    );
    const result = await runCheck(createPostgresCheck({ user: "check" }), port);
    assert.deepEqual([result.ok, result.detail], [false, "malformed message length"]);
  });

  it("postgres: a SCRAM challenge with a huge iteration count is refused, not computed", async () => {
    const port = await fakeServer((socket) => {
      const sasl = Buffer.from("SCRAM-SHA-256\0\0");
      const request = (code: number, body: Buffer) => {
        const head = Buffer.alloc(9);
        head.write("R", 0);
        head.writeInt32BE(body.length + 8, 1);
        head.writeInt32BE(code, 5);
        return Buffer.concat([head, body]);
      };
      socket.once("data", () => {
        socket.write(request(10, sasl));
        socket.once("data", (first) => {
          const nonce = /r=([^,]+)/.exec(first.toString("latin1"))?.[1] ?? "";
          const challenge = `r=${nonce}xyz,s=${Buffer.from("salt").toString("base64")},i=2000000000`;
          socket.write(request(11, Buffer.from(challenge)));
        });
      });
    });
    const result = await runCheck(createPostgresCheck({ user: "check", password: "x" }), port);
    assert.equal(result.ok, false);
    assert.match(result.detail, /SCRAM iteration count 2000000000 refused/);
  });

  it("redis: an INFO reply claiming a huge bulk length fails at once", async () => {
    const port = await fakeServer((socket) => {
      socket.once("data", () => {
        socket.write("+PONG\r\n$999999999\r\n");
      });
    });
    const result = await runCheck(createRedisCheck({}), port);
    assert.equal(result.ok, false);
    assert.match(result.detail, /INFO reply of 999999999 bytes/);
  });

  it("redis: a server that demands AUTH says so", async () => {
    const port = await fakeServer((socket) =>
      socket.once("data", () => socket.write("-NOAUTH Authentication required.\r\n")),
    );
    const result = await runCheck(createRedisCheck({}), port);
    assert.deepEqual([result.ok, result.status], [false, "L7STS"]);
    assert.match(result.detail, /PING answered -NOAUTH/);
  });
});
