import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CachedResponse } from "../../src/cache/cached-response.js";
import { MemoryStore } from "../../src/cache/memory-store.js";
import { completeResponse, judgeResponse } from "../../src/cache/response-rules.js";

/** A stored response of `bytes` body bytes, tagged `tags`, varying on `lang` when given. */
function entry(bytes: number, tags: string[] = [], lang?: string): CachedResponse {
  const headers = ["cache-control", "max-age=60"];
  for (const tag of tags) headers.push("surrogate-key", tag);
  if (lang !== undefined) headers.push("vary", "accept-language");
  const head = judgeResponse(
    {
      method: "GET",
      url: "/",
      host: "h",
      headers: lang === undefined ? {} : { "accept-language": lang },
    },
    200,
    "OK",
    headers,
  );
  assert.ok(typeof head !== "string", String(head));
  return completeResponse(head, Buffer.alloc(bytes));
}

describe("memory store evicts least recently used", () => {
  it("keeps its bytes under the bound by evicting the least recently used key", () => {
    const evicted: CachedResponse[] = [];
    const size = entry(1000).size;
    const store = new MemoryStore(size * 3, { onEvict: (e) => evicted.push(e) });
    store.put("a", entry(1000));
    store.put("b", entry(1000));
    store.put("c", entry(1000));
    assert.ok(store.get("a"), "a is used: b is now the oldest");
    store.put("d", entry(1000));
    assert.equal(evicted.length, 1);
    assert.equal(store.get("b"), undefined);
    assert.ok(store.get("a") && store.get("c") && store.get("d"));
    assert.ok(store.bytes <= size * 3);
  });

  it("keeps the order right when the most recently used key is hit again and again", () => {
    const evicted: CachedResponse[] = [];
    const size = entry(1000).size;
    const store = new MemoryStore(size * 3, { onEvict: (e) => evicted.push(e) });
    const [a, b, c] = [entry(1000), entry(1000), entry(1000)];
    store.put("a", a);
    store.put("b", b);
    store.put("c", c);
    store.get("c");
    store.get("c");
    store.get("a"); // b, c, a
    store.get("c"); // b, a, c
    store.get("c");
    store.put("d", entry(1000));
    assert.deepEqual(evicted, [b]);
    store.get("a"); // c, d, a
    store.put("e", entry(1000));
    assert.deepEqual(evicted, [b, c]);
  });

  it("does not store a response larger than the whole store", () => {
    const store = new MemoryStore(2000, { onEvict: () => {} });
    assert.equal(store.put("big", entry(5000)), false);
    assert.equal(store.bytes, 0);
  });

  it("replaces the variant with the same secondary key and keeps the others", () => {
    const store = new MemoryStore(1_000_000, { onEvict: () => {} });
    store.put("k", entry(10, [], "en"));
    store.put("k", entry(10, [], "de"));
    store.put("k", entry(20, [], "en"));
    assert.equal(store.entries, 2);
    assert.equal(store.bytes, entry(10, [], "de").size + entry(20, [], "en").size);
  });

  it("forgets the tags of removed keys", () => {
    const store = new MemoryStore(1_000_000, { onEvict: () => {} });
    store.put("x", entry(10, ["t1", "t2"]));
    store.put("y", entry(10, ["t2"]));
    assert.equal(store.delete("x"), 1);
    assert.equal(store.deleteTag("t1"), 0);
    assert.equal(store.deleteTag("t2"), 1);
    assert.equal(store.entries, 0);
    assert.equal(store.bytes, 0);
  });
});
