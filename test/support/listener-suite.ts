/**
 * The shared listener suite: every data plane (http, tcp, udp) passes it through the
 * Listener contract alone (start, update, stop, address, stats), as every algorithm passes the
 * balancer conformance suite. It checks limits (allow/deny, connection limit), a reload in
 * place, a graceful stop and the counters. A plane brings its backends, its client and the
 * names of its counters; the suite brings the behaviour.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { listenerSchema, poolSchema } from "../../src/config/schema/index.js";
import { silentLogger } from "../../src/log.js";
import type { Listener, ListenerFactory } from "../../src/net/listener.js";
import type { Pool } from "../../src/pool/pool.js";
import { createPoolFromConfig } from "../../src/runtime/pools.js";
import { runCleanups } from "./cleanups.js";
import { waitFor } from "./wait.js";

/** A broken plane fails its test instead of hanging the suite. */
const BOUNDED = { timeout: 20_000 };

/** What a client got when the listener refused it (closed, or dropped its datagram). */
export const REFUSED = "<refused>";
/** The loopback address clients use by default. */
export const LOCAL = "127.0.0.1";
/** A second client address: Linux routes all of 127.0.0.0/8 to loopback. */
export const OTHER = "127.0.0.2";

/** A backend of one plane that answers each exchange with its name. */
export interface PlaneBackend {
  name: string;
  /** `127.0.0.1:port`, for the pool's config. */
  address: string;
  /** Exchanges received so far (held ones included). */
  received(): number;
  /** Holds the answer to the next exchange until the returned function is called. */
  holdNext(): () => void;
  close(): Promise<void>;
}

/** One client connection (tcp, http keep-alive) or socket (udp) to the listener. */
export interface PlaneClient {
  /**
   * One exchange: resolves with the answering backend's name, or REFUSED when the listener
   * closed the connection, refused it, or dropped the datagram (`refusals` moved).
   */
  ask(refusals: () => number): Promise<string>;
  close(): void;
}

/** One data plane, as the suite drives it. */
export interface ListenerPlane {
  protocol: "http" | "tcp" | "udp";
  factory: ListenerFactory;
  /** The listener section's plane-specific part, sending everything to pool `pool`. */
  section(pool: string): Record<string, unknown>;
  startBackend(name: string): Promise<PlaneBackend>;
  /** Opens a client from the loopback address `from`; never rejects (a refusal is REFUSED). */
  openClient(port: number, from: string): Promise<PlaneClient>;
  /** Stats counters: one per client served, per client denied, per client over a limit. */
  counters: { served: string; denied: string; limited: string };
  /** Whether a graceful stop lets an exchange in flight finish (udp has nothing to finish). */
  finishesInFlight: boolean;
  /** Whether an open client keeps its backend across a reload (l4), or each request is routed anew (http). */
  clientKeepsBackend: boolean;
  /** Listener settings under which a closed client's slot is freed soon (udp: a short session timeout). */
  closedClientsEndSoon: Record<string, unknown>;
}

/** What PlaneBackend.holdNext needs: the next exchange awaits `next()` before answering. */
export class AnswerHold {
  private held: Promise<void> | undefined;

  /** Holds the next exchange's answer; the returned function releases it. */
  holdNext(): () => void {
    let release = () => {};
    this.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return release;
  }

  /** For the backend, on each exchange: resolves when its answer may go (at once if not held). */
  async next(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    await held;
  }
}

/**
 * A client on a tcp connection from `from` (the tcp and http planes): each ask writes
 * `request`, and resolves with what `answer` makes of the bytes read once it returns a
 * string, or REFUSED if the connection closes (or was never opened) first.
 */
export async function streamClient(
  port: number,
  from: string,
  request: string,
  answer: (text: string) => string | undefined,
): Promise<PlaneClient> {
  const socket = connect({ port, host: "127.0.0.1", localAddress: from });
  socket.setEncoding("latin1");
  let ended = false;
  socket.on("error", () => {});
  socket.on("close", () => {
    ended = true;
  });
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.once("close", resolve);
  });
  return {
    ask: () =>
      new Promise<string>((resolve) => {
        if (ended) return resolve(REFUSED);
        let text = "";
        const onData = (chunk: string) => {
          text += chunk;
          const answered = answer(text);
          if (answered !== undefined) finish(answered);
        };
        const onClose = () => finish(REFUSED);
        const finish = (result: string) => {
          socket.off("data", onData);
          socket.off("close", onClose);
          resolve(result);
        };
        socket.on("data", onData);
        socket.on("close", onClose);
        socket.write(request);
      }),
    close: () => socket.destroy(),
  };
}

interface Started {
  listener: Listener;
  port: number;
  refusals(): number;
  section(extra: Record<string, unknown>): ReturnType<typeof listenerSchema.parse>;
}

/** Runs the shared listener suite against `plane`. */
export function listenerSuite(plane: ListenerPlane): void {
  describe(`the ${plane.protocol} listener keeps the Listener contract`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(() => runCleanups(cleanups));

    async function backend(name: string): Promise<PlaneBackend> {
      const started = await plane.startBackend(name);
      cleanups.push(() => started.close());
      return started;
    }

    /** A listener on 127.0.0.1:0 over pools p and q (q may be empty), with `extra` settings. */
    async function start(
      pools: Record<string, PlaneBackend[]>,
      extra: Record<string, unknown> = {},
    ): Promise<Started> {
      const live = new Map<string, Pool>();
      for (const [name, backends] of Object.entries(pools)) {
        const section = poolSchema.parse({
          backends: backends.map((b) => ({ name: b.name, address: b.address })),
        });
        const pool = createPoolFromConfig(name, section);
        live.set(name, pool);
        cleanups.push(() => pool.close());
      }
      const section = (more: Record<string, unknown>) =>
        listenerSchema.parse({
          name: `suite-${plane.protocol}`,
          protocol: plane.protocol,
          bind: "127.0.0.1:0",
          ...(plane.protocol === "http" ? { access_log: false } : {}),
          ...plane.section("p"),
          ...more,
        });
      const listener = plane.factory(section(extra), { pools: live, logger: silentLogger });
      await listener.start();
      cleanups.push(() => listener.stop({ graceful: false }));
      const stats = () => listener.stats();
      return {
        listener,
        port: listener.address().port,
        refusals: () =>
          (stats()[plane.counters.denied] ?? 0) + (stats()[plane.counters.limited] ?? 0),
        section,
      };
    }

    async function client(started: Started, from = LOCAL): Promise<PlaneClient> {
      const opened = await plane.openClient(started.port, from);
      cleanups.push(() => opened.close());
      return opened;
    }

    /** One exchange on a new client, which is closed after it. */
    async function askOnce(started: Started, from = LOCAL): Promise<string> {
      const once = await plane.openClient(started.port, from);
      try {
        return await once.ask(started.refusals);
      } finally {
        once.close();
      }
    }

    it("starts on the configured address and reports the port it bound", BOUNDED, async () => {
      const a = await backend("a");
      const started = await start({ p: [a] });
      assert.equal(started.listener.protocol, plane.protocol);
      assert.equal(started.listener.address().host, "127.0.0.1");
      assert.ok(started.port > 0);
      assert.equal(await askOnce(started), "a");
    });

    it("refuses a denied client address and serves the others", BOUNDED, async () => {
      const a = await backend("a");
      const started = await start({ p: [a] }, { limits: { deny: [`${OTHER}/32`] } });
      assert.equal(await askOnce(started, OTHER), REFUSED);
      assert.equal(started.listener.stats()[plane.counters.denied], 1);
      assert.equal(await askOnce(started, LOCAL), "a");
      assert.equal(a.received(), 1, "the denied client never reached the backend");
    });

    it("with an allow list, refuses every other address", BOUNDED, async () => {
      const a = await backend("a");
      const started = await start({ p: [a] }, { limits: { allow: [`${LOCAL}/32`] } });
      assert.equal(await askOnce(started, OTHER), REFUSED);
      assert.equal(await askOnce(started, LOCAL), "a");
    });

    it(
      "refuses a client over max_connections while one is open, and serves again once it closes",
      BOUNDED,
      async () => {
        const a = await backend("a");
        const started = await start(
          { p: [a] },
          { limits: { max_connections: 1 }, ...plane.closedClientsEndSoon },
        );
        const first = await client(started);
        assert.equal(await first.ask(started.refusals), "a");
        assert.equal(await askOnce(started), REFUSED);
        assert.equal(started.listener.stats()[plane.counters.limited], 1);
        assert.equal(await first.ask(started.refusals), "a", "the open client is still served");
        first.close();
        await waitFor("a new client to be served once the first closed", async () => {
          return (await askOnce(started)) === "a";
        });
      },
    );

    it("applies a changed config in place, keeping open clients", BOUNDED, async () => {
      const [a, b] = [await backend("a"), await backend("b")];
      const started = await start({ p: [a], q: [b] });
      const open = await client(started);
      assert.equal(await open.ask(started.refusals), "a");
      started.listener.update(started.section(plane.section("q")));
      assert.equal(started.port, started.listener.address().port, "still on the same port");
      assert.equal(
        await open.ask(started.refusals),
        plane.clientKeepsBackend ? "a" : "b",
        "the open client is kept",
      );
      assert.equal(await askOnce(started), "b", "a new client follows the new config");
    });

    it("applies changed limits on reload: a newly denied address is refused", BOUNDED, async () => {
      const a = await backend("a");
      const started = await start({ p: [a] });
      assert.equal(await askOnce(started, OTHER), "a");
      started.listener.update(started.section({ limits: { deny: [`${OTHER}/32`] } }));
      assert.equal(await askOnce(started, OTHER), REFUSED);
      assert.equal(await askOnce(started, LOCAL), "a");
    });

    it(
      "stops gracefully: new clients are refused, and what is in flight finishes",
      BOUNDED,
      async () => {
        const a = await backend("a");
        const started = await start({ p: [a] });
        const open = await client(started);
        assert.equal(await open.ask(started.refusals), "a");
        let inFlight: Promise<string> | undefined;
        let release = () => {};
        if (plane.finishesInFlight) {
          release = a.holdNext();
          inFlight = open.ask(started.refusals);
          await waitFor("the exchange to reach the backend", () => a.received() === 2);
        }
        let stopped = false;
        const stopping = started.listener.stop({ graceful: true, timeoutMs: 10_000 }).then(() => {
          stopped = true;
        });
        assert.equal(await askOnce(started), REFUSED, "a new client is refused");
        if (inFlight !== undefined) {
          assert.equal(stopped, false, "the stop waits for the exchange in flight");
          release();
          assert.equal(await inFlight, "a", "the exchange in flight finished");
          open.close();
        }
        await stopping;
        assert.equal(a.received(), plane.finishesInFlight ? 2 : 1);
      },
    );

    it("counts each client served in its stats", BOUNDED, async () => {
      const a = await backend("a");
      const started = await start({ p: [a] });
      const before = started.listener.stats()[plane.counters.served];
      assert.equal(before, 0);
      for (let i = 0; i < 3; i++) assert.equal(await askOnce(started), "a");
      assert.equal(started.listener.stats()[plane.counters.served], 3);
      assert.equal(started.listener.stats()[plane.counters.denied], 0);
      assert.equal(started.listener.stats()[plane.counters.limited], 0);
    });
  });
}
