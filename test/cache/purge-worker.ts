/**
 * A cluster worker for purges-reach-every-worker.test.ts: one zone "z" holding a response
 * tagged "product-7" and an untagged one, answering the primary's purges as ballast's
 * workers do, and telling the test how many responses it still holds.
 */
import { completeResponse, judgeResponse } from "../../src/cache/response-rules.js";
import { CacheZone } from "../../src/cache/zone.js";
import { answerCachePurges } from "../../src/runtime/cache-purge-ipc.js";

const zone = new CacheZone("z", { maxBytes: 1024 * 1024, maxObjectBytes: 1024 * 1024 });
for (const [path, tags] of [
  ["/tagged", ["surrogate-key", "product-7"]],
  ["/plain", []],
] as const) {
  const request = { method: "GET", url: path, host: "h", headers: {} };
  const head = judgeResponse(request, 200, "OK", ["cache-control", "max-age=60", ...tags]);
  if (typeof head === "string") throw new Error(head);
  zone.store(`h${path}`, completeResponse(head, Buffer.from("body")));
}
answerCachePurges(new Map([["z", zone]]));
process.on("message", (message: { type?: string }) => {
  if (message?.type === "test:entries")
    process.send?.({ type: "test:entries", entries: zone.usage().entries });
});
process.send?.({ type: "test:ready" });
