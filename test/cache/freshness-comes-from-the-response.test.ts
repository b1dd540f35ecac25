import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

const DAY = 86_400_000;

const answers: Record<string, (res: ServerResponse) => void> = {
  // s-maxage is the shared cache's lifetime: 0 here, whatever max-age says.
  "/s-maxage": (res) => res.writeHead(200, { "cache-control": "max-age=600, s-maxage=0" }),
  "/expires": (res) =>
    res.writeHead(200, {
      date: new Date().toUTCString(),
      expires: new Date(Date.now() + DAY).toUTCString(),
    }),
  "/expired": (res) =>
    res.writeHead(200, {
      date: new Date().toUTCString(),
      expires: "Thu, 01 Jan 1970 00:00:00 GMT",
    }),
  // No explicit lifetime, a Last-Modified ten days back: heuristically fresh (RFC 9111 4.2.2).
  "/heuristic": (res) =>
    res.writeHead(200, {
      date: new Date().toUTCString(),
      "last-modified": new Date(Date.now() - 10 * DAY).toUTCString(),
    }),
  // The same for a status that is not cacheable by default: no heuristics.
  "/heuristic-302": (res) =>
    res.writeHead(302, {
      location: "/",
      date: new Date().toUTCString(),
      "last-modified": new Date(Date.now() - 10 * DAY).toUTCString(),
    }),
};

describe("freshness comes from the response", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      answers[req.url ?? ""](res);
      res.end("body");
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const second = async (path: string) => {
    await fetchText(proxy.port, path);
    const reply = await fetchText(proxy.port, path);
    return {
      state: reply.headers["x-cache"],
      seen: backend.seen.filter((r) => r.url === path).length,
    };
  };

  it("uses s-maxage over max-age", async () => {
    assert.equal((await second("/s-maxage")).seen, 2);
  });

  it("uses Expires when there is no max-age, and an Expires in the past is stale", async () => {
    assert.deepEqual(await second("/expires"), { state: "HIT", seen: 1 });
    assert.equal((await second("/expired")).seen, 2);
  });

  it("gives a heuristic lifetime only to statuses cacheable by default", async () => {
    assert.deepEqual(await second("/heuristic"), { state: "HIT", seen: 1 });
    assert.equal((await second("/heuristic-302")).seen, 2);
  });
});
