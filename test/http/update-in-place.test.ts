/** `update()` applies new routes and timeouts in place: an open keep-alive connection sees them. */
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { after, describe, it } from "node:test";
import { httpListenerSchema } from "../../src/config/schema/index.js";
import {
  backendsOf,
  fetchText,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http listener update", () => {
  let backends: TestBackend[] = [];
  let proxy: TestProxy;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  after(async () => {
    agent.destroy();
    await proxy.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("routes to the new pool on the same client connection", async () => {
    backends = await Promise.all(["old", "new"].map((name) => startBackend(name)));
    proxy = await startProxy(
      { default_pool: "old" },
      {
        old: { backends: backendsOf([backends[0]]) },
        new: { backends: backendsOf([backends[1]]) },
      },
    );
    let sockets = 0;
    const first = await fetchText(proxy.port, "/", { agent });
    assert.equal(first.body, "old");
    proxy.listener.update(
      httpListenerSchema.parse({
        name: "test",
        protocol: "http",
        bind: "127.0.0.1:0",
        access_log: false,
        routes: [{ match: { path_prefix: "/" }, pool: "new" }],
        timeouts: { response: "2s" },
      }),
    );
    const second = await fetchText(proxy.port, "/", { agent });
    assert.equal(second.body, "new");
    for (const list of Object.values(agent.sockets)) sockets += list?.length ?? 0;
    for (const list of Object.values(agent.freeSockets)) sockets += list?.length ?? 0;
    assert.equal(sockets, 1, "one client connection carried both requests");
  });
});
