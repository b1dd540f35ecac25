/**
 * A backend that sends a cacheable body a byte per read does not make the fill hold a Buffer
 * object per byte (about a hundred bytes of heap each, unseen by the memory bound, which
 * counts body bytes): the pieces after the first are copied into blocks. Measured as the
 * heap the fill holds, after a garbage collection, for a body of 200 000 one-byte pieces.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { CachedResponse } from "../../src/cache/cached-response.js";
import { CacheFill, type FillSink } from "../../src/cache/fill.js";
import { judgeResponse, type StorableHead } from "../../src/cache/response-rules.js";

const PIECES = 200_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("a body arriving a byte per read costs a byte per byte", () => {
  it("200 000 one-byte pieces held by a fill take well under a Buffer object each", () => {
    let stored: CachedResponse | undefined;
    const sink: FillSink = {
      store: (_key, entry) => {
        stored = entry;
      },
      fillDone() {},
      memoryLimit: 64 * 1024 * 1024,
      wantsDisk: () => false,
      startDiskWrite: () => undefined,
      storeFromDisk: async () => false,
    };
    const request = { method: "GET", url: "/slow", host: "x", headers: {} };
    const head = judgeResponse(request, 200, "OK", ["Cache-Control", "max-age=60"]);
    assert.notEqual(typeof head, "string", String(head));
    const fill = new CacheFill(sink, "k", request, undefined, 64 * 1024 * 1024);
    fill.accept(head as StorableHead);
    // Each piece a view of a reused read buffer, as the upstream socket hands them.
    const read = Buffer.alloc(1);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < PIECES; i++) {
      read[0] = 97 + (i % 26);
      fill.write(read);
    }
    gc();
    const held = process.memoryUsage().heapUsed - before;
    // Before: a Buffer object and an array slot per piece, 20 MB or more on the heap.
    assert.ok(held < 4 * 1024 * 1024, `${held} bytes of heap for ${PIECES} body bytes`);
    fill.commit();
    const body = stored?.body as Buffer;
    assert.equal(body.length, PIECES);
    for (const i of [0, 1, 25, 26, 16383, 16384, PIECES - 1]) assert.equal(body[i], 97 + (i % 26));
  });
});
