/**
 * The binding and suspension messages one worker sends are relayed by the primary to every
 * other worker as they are: a malformed one is refused before it is relayed or applied, so a
 * worker's bug cannot throw in its peers' message handlers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isWellFormedPeerMessage } from "../../src/runtime/cluster-protocol.js";

type PeerMessage = Parameters<typeof isWellFormedPeerMessage>[0];
const as = (value: unknown) => value as PeerMessage;

describe("peer messages between workers", () => {
  it("accepts well-formed bindings and suspensions", () => {
    assert.ok(
      isWellFormedPeerMessage({
        type: "ballast:bindings",
        pool: "db",
        bindings: [["10.0.0.1", "one", 1_700_000_000_000]],
      }),
    );
    assert.ok(
      isWellFormedPeerMessage({ type: "ballast:suspended", pool: "db", id: "one", forMs: 10 }),
    );
  });

  it("refuses bindings that are not [client, backend id, since] tuples", () => {
    for (const bindings of [
      undefined,
      "x",
      [["10.0.0.1", "one"]],
      [["10.0.0.1", 7, 1]],
      [[1, "one", 1]],
      [["a", "b", Number.NaN]],
      [null],
    ]) {
      assert.equal(
        isWellFormedPeerMessage(as({ type: "ballast:bindings", pool: "db", bindings })),
        false,
        JSON.stringify(bindings),
      );
    }
    assert.equal(
      isWellFormedPeerMessage(as({ type: "ballast:bindings", pool: 3, bindings: [] })),
      false,
    );
  });

  it("refuses suspensions without a backend id or a finite, positive length", () => {
    for (const forMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, "10"]) {
      assert.equal(
        isWellFormedPeerMessage(as({ type: "ballast:suspended", pool: "db", id: "one", forMs })),
        false,
        String(forMs),
      );
    }
    assert.equal(
      isWellFormedPeerMessage(as({ type: "ballast:suspended", pool: "db", forMs: 10 })),
      false,
    );
  });
});
