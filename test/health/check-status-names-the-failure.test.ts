/**
 * Every checker names its outcome in HAProxy's `check_status` words, so the API and the
 * dashboard can say why a backend is down: refused (L4CON), no answer to the connect
 * (L4TOUT), wrong status (L7STS with the code), wrong or broken reply (L7RSP), no reply in
 * time (L7TOUT), a command that failed (PROCERR) or was killed at the timeout (PROCTOUT).
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { test } from "node:test";
import { createExecCheck } from "../../src/health/exec-check.js";
import { createHttpCheck } from "../../src/health/http-check.js";
import { createSendExpectCheck } from "../../src/health/send-expect-check.js";
import { createTcpCheck } from "../../src/health/tcp-check.js";
import type { CheckResult, HealthCheck } from "../../src/health/types.js";
import { blackholePort } from "../support/blackhole-port.js";
import { freePort } from "../support/ports.js";
import { closeServer, listenTcp, portOf } from "./helpers.js";

/** Runs one check with a timeout, as the supervisor does. */
function runCheck(check: HealthCheck, port: number, timeoutMs = 2000): Promise<CheckResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  return check
    .check({ host: "127.0.0.1", port }, controller.signal)
    .finally(() => clearTimeout(timer));
}

test("tcp: L4OK when it connects, L4CON when refused, L4TOUT when the connect hangs", async () => {
  const server = await listenTcp();
  const closed = await freePort();
  const blackhole = await blackholePort();
  try {
    const tcp = createTcpCheck();
    assert.equal((await runCheck(tcp, portOf(server))).status, "L4OK");
    assert.equal((await runCheck(tcp, closed)).status, "L4CON");
    assert.equal((await runCheck(tcp, blackhole.port, 200)).status, "L4TOUT");
  } finally {
    blackhole.close();
    await closeServer(server);
  }
});

test("http: L7OK, L7STS with the code, L7RSP for a body or a broken reply, L7TOUT", async () => {
  const server = createHttpServer((req, res) => {
    if (req.url === "/500") res.writeHead(500).end("no");
    else if (req.url === "/hang") return;
    else if (req.url === "/reset") req.socket.destroy();
    else res.writeHead(200).end("fine");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = portOf(server);
  try {
    const ok = await runCheck(createHttpCheck({ path: "/" }), port);
    assert.deepEqual([ok.ok, ok.status, ok.code], [true, "L7OK", 200]);
    const status = await runCheck(createHttpCheck({ path: "/500" }), port);
    assert.deepEqual([status.ok, status.status, status.code], [false, "L7STS", 500]);
    const body = await runCheck(createHttpCheck({ path: "/", expectBody: "^healthy$" }), port);
    assert.deepEqual([body.ok, body.status], [false, "L7RSP"]);
    const reset = await runCheck(createHttpCheck({ path: "/reset" }), port);
    assert.deepEqual([reset.ok, reset.status], [false, "L7RSP"]);
    const hang = await runCheck(createHttpCheck({ path: "/hang" }), port, 200);
    assert.deepEqual([hang.ok, hang.status], [false, "L7TOUT"]);
    const refused = await runCheck(createHttpCheck({ path: "/" }), await freePort());
    assert.deepEqual([refused.ok, refused.status], [false, "L4CON"]);
  } finally {
    server.closeAllConnections();
    await closeServer(server);
  }
});

test("send-expect: L7OK on a match, L7TOUT when nothing comes back", async () => {
  const server = await listenTcp();
  server.on("connection", (socket) => {
    socket.on("data", (data) => {
      if (String(data).startsWith("PING")) socket.write("+PONG\r\n");
    });
  });
  try {
    const ping = createSendExpectCheck({ send: "PING\\r\\n", expect: "^\\+PONG" });
    assert.equal((await runCheck(ping, portOf(server))).status, "L7OK");
    const silent = createSendExpectCheck({ send: "HELLO\\r\\n", expect: "^\\+PONG" });
    assert.equal((await runCheck(silent, portOf(server), 200)).status, "L7TOUT");
  } finally {
    await closeServer(server);
  }
});

test("exec: PROCOK, PROCERR on a non-zero exit, PROCTOUT when killed at the timeout", async () => {
  assert.equal((await runCheck(createExecCheck(["true"]), 1)).status, "PROCOK");
  assert.equal((await runCheck(createExecCheck(["false"]), 1)).status, "PROCERR");
  assert.equal((await runCheck(createExecCheck(["sleep", "5"]), 1, 200)).status, "PROCTOUT");
});
