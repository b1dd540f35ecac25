/**
 * A differential check of ballast's HTTP/1.1 server against nginx: a few hundred hostile or
 * odd requests (test/http/fixtures/malformed-requests.ts), each sent on its own connection
 * to ballast and to nginx, both in front of one recording backend (node's strict parser).
 * Each client connects from its own loopback address, so the backend knows which case (and
 * which proxy) a request came from by X-Real-IP.
 *
 * Per case, ballast either refuses with a 4xx/5xx of its own (closing the connection when
 * the refusal is about the head) or forwards requests the backend parsed cleanly, exactly
 * the ones whose answers the client got; it never forwards a case nginx refuses unless the
 * case is listed below with the RFC's reason (docs/http.md, "Parsing"); the two proxies never
 * disagree on the bodies they forward; a request of another client stays unharmed, and no
 * lease is left behind.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { type RealServer, startNginx } from "../support/servers.js";
import { waitFor } from "../support/wait.js";
import { type MalformedCase, malformedRequests } from "./fixtures/malformed-requests.js";
import { fetchText, rawExchange, startProxy, type TestProxy } from "./helpers.js";

/** What one proxy made of one case. */
interface Outcome {
  /** Status of each response the client got, `B` after it when the backend wrote it. */
  responses: string[];
  /** What the backend received from this client: `METHOD url bodyLength`. */
  forwarded: string[];
  /** The proxy closed the connection (within the probe's window). */
  closed: boolean;
}

/**
 * Cases nginx refuses and ballast forwards, decided from the RFC (docs/http.md lists them).
 * Every other case nginx refuses must be refused by ballast too.
 */
const FORWARDED_THOUGH_NGINX_REFUSES = new Map<string, string>([
  [
    'method "TRACE"',
    "RFC 9110 9.3.8 defines TRACE; nginx refuses it by policy (405), a body on it is refused",
  ],
  [
    'target "/aaaaaaaaaaa...(9001)"',
    "a size policy: nginx's 8 KB line buffers, ballast's max_header_size (16 KB)",
  ],
  [
    "host: empty Host",
    "RFC 9112 3.2 allows an empty Host; routing falls to the default, framing is untouched",
  ],
  [
    "content-length tab padded",
    "RFC 9110 5.5: HTAB is OWS around a field value; nginx trims spaces only",
  ],
]);

/** Cases whose last message is incomplete: the proxy waits for the rest (or its timeout). */
const INCOMPLETE = new Set<string>([
  "partial request line",
  "partial head",
  "head without final blank line",
  "head ending CRLF CR",
  "request line only, no fields, no blank",
  "sized body short",
  "chunked body cut",
  "chunked body without last chunk",
  "content-length 15 digits",
  "chunks: huge size then close",
]);

const IDLE_MS = 300;
const CAP_MS = 3000;
const WORKERS = 12;

describe("malformed requests never desync the backend (ballast vs nginx)", () => {
  /** One recording backend behind ballast, one behind nginx (same handler). */
  let backend: Server;
  let nginxBackend: Server;
  let proxy: TestProxy;
  let nginx: RealServer & { ports: number[] };
  /** X-Real-IP → requests the backend parsed. */
  const seen = new Map<string, string[]>();
  /** What each backend could not parse: [behind ballast, behind nginx]. */
  const backendParseErrors: [string[], string[]] = [[], []];
  let releaseSlow: (() => void) | undefined;
  /** Requests that reached the backend through ballast with forged or missing fields. */
  const forwardingProblems: string[] = [];

  before(async () => {
    backend = await recordingBackend(0);
    nginxBackend = await recordingBackend(1);
    proxy = await startProxy(
      { default_pool: "p", timeouts: { request_header: 5000 } },
      { p: { backends: [{ address: `127.0.0.1:${portOf(backend)}`, name: "b" }] } },
    );
    nginx = await startNginx(
      1,
      ([port]) => `  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${portOf(nginxBackend)};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
    }
  }`,
    );
  });

  after(async () => {
    releaseSlow?.();
    await proxy?.close();
    await nginx?.stop();
    for (const server of [backend, nginxBackend]) {
      server?.closeAllConnections();
      server?.close();
    }
  });

  /** A backend that records each request it parsed by X-Real-IP and answers it. */
  async function recordingBackend(which: 0 | 1): Promise<Server> {
    const server = createServer({ requireHostHeader: false }, (req, res) => {
      let length = 0;
      req.on("data", (chunk: Buffer) => {
        length += chunk.length;
      });
      req.on("end", () => {
        const who = String(req.headers["x-real-ip"]);
        if (which === 0 && req.url !== "/slow" && req.url !== "/after") {
          // ballast's forwarding fields name the client, once each, whatever it sent or
          // named in Connection.
          const count = (name: string) =>
            req.rawHeaders.filter((field, i) => i % 2 === 0 && field.toLowerCase() === name).length;
          const forwarded = ["x-forwarded-for", "x-real-ip", "x-forwarded-proto", "host"];
          if (
            req.headers["x-forwarded-for"] !== who ||
            !who.startsWith("127.20.") ||
            forwarded.some((name) => count(name) !== 1)
          ) {
            forwardingProblems.push(`${req.method} ${req.url}: ${JSON.stringify(req.rawHeaders)}`);
          }
        }
        const line = `${req.method} ${req.url} ${length}`;
        seen.set(who, [...(seen.get(who) ?? []), line]);
        const answer = () => {
          if (res.headersSent) return;
          res.setHeader("x-from-backend", "1");
          res.end(line);
        };
        if (req.url === "/slow") releaseSlow = answer;
        else answer();
      });
    });
    server.on("clientError", (error: Error & { code?: string; rawPacket?: Buffer }, socket) => {
      // A reset or an end in the middle of a body (a proxy giving up on a request whose
      // client left) is no parse error: the backend saw no complete request.
      if (error.code?.startsWith("HPE_") && error.code !== "HPE_INVALID_EOF_STATE") {
        backendParseErrors[which].push(
          `${error.code} ${error.message}: ${JSON.stringify(error.rawPacket?.toString("latin1").slice(0, 120))}`,
        );
      }
      socket.destroy();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return server;
  }

  /** Sends one case from `address`; what came back within the window. */
  function probe(
    port: number,
    address: string,
    bytes: string,
  ): Promise<Omit<Outcome, "forwarded">> {
    return new Promise((resolve) => {
      const socket = connect({ port, host: "127.0.0.1", localAddress: address });
      const chunks: Buffer[] = [];
      let closed = false;
      let idle: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(idle);
        clearTimeout(cap);
        socket.destroy();
        resolve({ responses: statuses(Buffer.concat(chunks).toString("latin1")), closed });
      };
      const cap = setTimeout(done, CAP_MS);
      // Quiet for IDLE_MS, and no answer of the backend still on its way (a loaded machine).
      const awaited = () =>
        (seen.get(address)?.length ?? 0) >
        statuses(Buffer.concat(chunks).toString("latin1")).filter((r) => r.endsWith("B")).length;
      const settle = () => (awaited() ? rearm() : done());
      const rearm = () => {
        clearTimeout(idle);
        idle = setTimeout(settle, IDLE_MS);
      };
      socket.on("connect", () => {
        socket.write(Buffer.from(bytes, "latin1"));
        rearm();
      });
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        rearm();
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        closed = true;
        // Let the backend's record of the last request land first.
        clearTimeout(idle);
        idle = setTimeout(done, 50);
      });
    });
  }

  /** Runs every case against both proxies, a few at a time. */
  async function runCorpus(cases: MalformedCase[]): Promise<Map<string, [Outcome, Outcome]>> {
    const results = new Map<string, [Outcome, Outcome]>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const host = index + 256;
        const { name, bytes } = cases[index];
        const ours = `127.20.${host >> 8}.${host & 255}`;
        const theirs = `127.21.${host >> 8}.${host & 255}`;
        const [a, b] = await Promise.all([
          probe(proxy.port, ours, bytes),
          probe(nginx.ports[0], theirs, bytes),
        ]);
        results.set(name, [
          { ...a, forwarded: seen.get(ours) ?? [] },
          { ...b, forwarded: seen.get(theirs) ?? [] },
        ]);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    return results;
  }

  it("holds per case, and harms no other client", async () => {
    const cases = malformedRequests();
    assert.ok(cases.length >= 250, `corpus of ${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "case names are unique");

    // Another client's request, in flight during the whole corpus.
    const slow = fetchText(proxy.port, "/slow");
    await waitFor("the slow request reached the backend", () => releaseSlow !== undefined);

    const results = await runCorpus(cases);
    const problems: string[] = [];
    const differences: string[] = [];
    for (const { name } of cases) {
      const [ours, theirs] = results.get(name)!;
      const show = (o: Outcome) =>
        `[${o.responses.join(" ")}] fwd=[${o.forwarded.join(" | ")}]${o.closed ? " closed" : ""}`;
      const line = `${name}: ballast ${show(ours)}  nginx ${show(theirs)}`;
      // Each case is answered at once unless its message is not complete yet.
      if (ours.responses.length === 0 && !INCOMPLETE.has(name)) {
        problems.push(`no answer: ${line}`);
      }
      if (
        ours.responses.join() !== theirs.responses.join() ||
        ours.forwarded.join() !== theirs.forwarded.join()
      ) {
        differences.push(line);
      }
      // Every answer from the backend matches one request it parsed, and the other way round.
      const fromBackend = ours.responses.filter((r) => r.endsWith("B")).length;
      if (fromBackend !== ours.forwarded.length) problems.push(`answers vs forwarded: ${line}`);
      // ballast's own answers are errors, and a 400 closes the connection.
      for (const r of ours.responses) {
        if (r.endsWith("B")) continue;
        const status = Number(r);
        if (status !== 100 && (status < 400 || status > 599)) problems.push(`own ${r}: ${line}`);
      }
      if (ours.responses.some((r) => r === "400" || r === "431" || r === "414") && !ours.closed) {
        problems.push(`refused but left open: ${line}`);
      }
      // Never forwards what nginx refuses outright (its first answer its own 4xx).
      const nginxRefused =
        theirs.forwarded.length === 0 && /^4\d\d$/.test(theirs.responses[0] ?? "");
      if (nginxRefused && ours.forwarded.length > 0 && !FORWARDED_THOUGH_NGINX_REFUSES.has(name)) {
        problems.push(`forwarded what nginx refuses: ${line}`);
      }
      // Where both forward, they agree on the first message and its body.
      if (ours.forwarded.length > 0 && theirs.forwarded.length > 0) {
        const body = (entry: string) => entry.split(" ").slice(2).join(" ");
        if (body(ours.forwarded[0]) !== body(theirs.forwarded[0])) {
          problems.push(`body length differs: ${line}`);
        }
      }
    }
    if (process.env.CORPUS_DUMP) console.log(differences.join("\n"));
    if (process.env.CORPUS_DUMP)
      console.log("nginx's backend could not parse:", backendParseErrors[1]);
    assert.deepEqual(backendParseErrors[0], [], "the backend parsed everything ballast sent");
    assert.deepEqual(problems, []);
    assert.deepEqual(forwardingProblems, []);

    releaseSlow!();
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, "GET /slow 0");
    const afterwards = await fetchText(proxy.port, "/after");
    assert.equal(afterwards.body, "GET /after 0", "ballast still serves");
    const state = proxy.pools.get("p")!.backends[0];
    await waitFor("every lease released", () => state.active + state.inactive === 0);
  });

  it("a head left incomplete is answered 408 and closed within timeouts.request_header", async () => {
    const quick = await startProxy(
      { default_pool: "p", timeouts: { request_header: "400ms" } },
      { p: { backends: [{ address: `127.0.0.1:${portOf(backend)}`, name: "b" }] } },
    );
    try {
      const heads = malformedRequests().filter(
        (c) => INCOMPLETE.has(c.name) && !/\r\n\r\n/.test(c.bytes),
      );
      assert.ok(heads.length >= 4);
      const outcomes = await Promise.all(
        heads.map(async (c) => {
          const started = Date.now();
          const reply = await rawExchange(quick.port, c.bytes, false, 5000);
          return { name: c.name, reply: reply.split("\r\n")[0], ms: Date.now() - started };
        }),
      );
      for (const { name, reply, ms } of outcomes) {
        assert.equal(reply, "HTTP/1.1 408 Request Timeout", name);
        assert.ok(ms < 4000, `${name}: closed after ${ms} ms, not held`);
      }
    } finally {
      await quick.close();
    }
  });
});

/**
 * The status of every response in a byte stream, `B` appended when the backend wrote it.
 * Both proxies frame their answers by Content-Length or chunked coding; a body that would
 * begin with a status line is a HEAD answer's, which has none.
 */
function statuses(stream: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const end = stream.indexOf("\r\n\r\n", at);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(stream.slice(at, at + 12));
    if (end < 0 || status === null) break;
    const head = stream.slice(at, end);
    out.push(/\r\nx-from-backend:/i.test(head) ? `${status[1]}B` : status[1]);
    at = end + 4;
    if (stream.startsWith("HTTP/1.", at) || status[1].startsWith("1")) continue;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length !== null) at += Number(length[1]);
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const line = stream.indexOf("\r\n", at);
        if (line < 0) return out;
        const size = Number.parseInt(stream.slice(at, line), 16);
        at = line + 2 + size + 2;
        if (size === 0 || Number.isNaN(size)) break;
      }
    } else break;
  }
  return out;
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
