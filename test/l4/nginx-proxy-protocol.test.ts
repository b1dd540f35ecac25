/** nginx behind a tcp listener that sends PROXY protocol v2: nginx logs the real client. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { encodeProxyV1 } from "../../src/net/proxy-protocol.js";
import type { TcpListener } from "../../src/tcp/listener.js";
import { type RealServer, startNginxWithProxyProtocol } from "../support/servers.js";
import { waitFor } from "../support/wait.js";
import { type Fronted, frontTcp, readUntil } from "./helpers.js";

let nginx: RealServer & { accessLog(): string };
let front: Fronted<TcpListener>;

before(async () => {
  nginx = await startNginxWithProxyProtocol();
  front = await frontTcp([{ host: "127.0.0.1", port: nginx.port }], {
    // Trust a front balancer on 127.0.0.3 only, so the other loopback clients are plain.
    proxy_protocol: { send: 2, accept_from: ["127.0.0.3/32"] },
  });
});

after(async () => {
  await front?.close();
  await nginx?.stop();
});

/** Sends a GET from the given loopback source address, with optional leading bytes. */
async function get(localAddress: string, prefix: Buffer = Buffer.alloc(0)): Promise<string> {
  const socket = connect({ host: "127.0.0.1", port: front.port, localAddress });
  socket.write(Buffer.concat([prefix, Buffer.from("GET /pp HTTP/1.0\r\nHost: t\r\n\r\n")]));
  const response = await readUntil(socket, () => false, 5000);
  socket.destroy();
  return response;
}

describe("PROXY protocol v2 to nginx", () => {
  it("lets nginx see and log the client's own address, not the balancer's", async () => {
    const response = await get("127.0.0.2");
    assert.match(response, /^HTTP\/1\.1 200/);
    assert.match(response, /client=127\.0\.0\.2/);
    await waitFor("the access log to name 127.0.0.2", () =>
      nginx.accessLog().includes("127.0.0.2"),
    );
    const line = nginx.accessLog().trim().split("\n").at(-1)!;
    // $proxy_protocol_addr is the client; $remote_addr (the TCP peer) is ballast.
    assert.match(line, /^127\.0\.0\.2 \d+ 127\.0\.0\.1 "GET \/pp HTTP\/1\.0"$/);
  });

  it("passes on the address a trusted front balancer reported in its own PROXY header", async () => {
    const header = encodeProxyV1({
      family: "tcp4",
      sourceAddress: "203.0.113.7",
      sourcePort: 40123,
      destinationAddress: "198.51.100.1",
      destinationPort: 80,
    });
    const response = await get("127.0.0.3", header);
    assert.match(response, /client=203\.0\.113\.7/);
    await waitFor("the access log to name 203.0.113.7 40123", () =>
      nginx.accessLog().includes("203.0.113.7 40123"),
    );
  });
});
