/**
 * A dashboard tab polls the admin API every second over one keep-alive connection. A poll in
 * flight when the admin server stops must not keep that connection, and with it the server,
 * open for as long as the tab polls: stop() ends the connection once the poll is answered.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { httpConfigYaml, startBackends, startStack } from "./helpers.js";

/** Bounds the poller so that, without the fix, the test ends instead of hanging. */
const MAX_POLLS = 200;

test("the admin server stops while a poll is in flight on a keep-alive connection", async (t) => {
  const backends = await startBackends(1);
  t.after(() => Promise.all(backends.map((b) => b.close())));
  const yaml = httpConfigYaml({ pools: { web: { backends } }, defaultPool: "web", admin: {} });
  const stack = await startStack(yaml);
  const { port } = new URL(stack.adminUrl);
  const head = `GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${stack.token}\r\n`;

  const socket = connect(Number(port), "127.0.0.1");
  t.after(() => socket.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  let answers = 0;
  let received = "";
  let closedByServer = false;
  socket.on("end", () => {
    closedByServer = true;
  });
  // Like a browser, poll again as soon as an answer is complete, on the same connection.
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
    for (;;) {
      const end = received.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(received.slice(0, end));
      if (end < 0 || !length || received.length < end + 4 + Number(length[1])) return;
      answers++;
      if (answers === 1) assert.match(received.slice(0, end), /connection: close/i);
      received = received.slice(end + 4 + Number(length[1]));
      if (answers < MAX_POLLS && !socket.destroyed) socket.write(`${head}\r\n`);
    }
  });

  // The first poll is half sent, so the connection is busy, not idle, when stop() starts.
  socket.write(head);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const stopped = stack.stop();
  socket.write("\r\n");
  await stopped;
  if (!closedByServer) await new Promise((resolve) => socket.once("end", resolve));
  assert.equal(answers, 1, "the poll in flight was answered, and no other");
});
