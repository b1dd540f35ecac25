/** A udp session keeps the client's latest datagram for failover only until it is answered. */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { describe, it } from "node:test";
import { Pool } from "../../src/pool/pool.js";
import { UdpSession } from "../../src/udp/session.js";

describe("udp session memory", () => {
  it("drops the held datagram when the backend replies", async () => {
    const echo = createSocket("udp4");
    echo.on("message", (message, remote) => echo.send(message, remote.port, remote.address));
    await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", resolve));
    const pool = new Pool("dns", [{ host: "127.0.0.1", port: echo.address().port }]);
    const lease = pool.acquire()!;
    let replied: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      replied = resolve;
    });
    const session = new UdpSession("k", "127.0.0.1", 5353, lease, false, 0, {
      reply: () => replied(),
      onUpstreamError: () => {},
    });
    try {
      session.send(Buffer.from("query"));
      assert.ok(session.lastDatagram, "held until answered, for failover");
      await answered;
      assert.equal(session.lastDatagram, undefined);
    } finally {
      session.close();
      lease.release({ ok: true });
      echo.close();
      await once(echo, "close");
    }
  });
});
