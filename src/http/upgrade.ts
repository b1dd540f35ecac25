/**
 * Upgrade passthrough (WebSocket, h2c, anything with `Connection: upgrade`): connect to a
 * backend, replay the request head, then pipe the two sockets until either side closes.
 * The backend's 101 (or its refusal) reaches the client byte for byte; the proxy does not
 * speak the upgraded protocol. The lease stays active for the tunnel's whole life, so
 * connection-count algorithms see WebSocket load.
 */
import { STATUS_CODES } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.js";
import type { BackendState } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";

/** What an upgrade needs from its listener. */
export interface UpgradeContext {
  readonly name: string;
  logger: Logger;
  connectTimeoutMs: number;
  accessLog: boolean;
  attempts: number;
  /** Open tunnels, closed at the end of a graceful stop. */
  readonly tunnels: Set<Duplex>;
  onTunnelEnd(): void;
}

/** One upgrade request to tunnel. */
export interface UpgradeRequest {
  method: string;
  path: string;
  /** Upstream header list, Upgrade and `Connection: upgrade` kept. */
  headers: string[];
  requestId: string;
  /** Bytes the client sent after the head (already read by node). */
  early: Buffer;
}

/** Tunnels `client` to a backend of `pool`, retrying other backends on connect failure. */
export function proxyUpgrade(
  ctx: UpgradeContext,
  client: Duplex,
  request: UpgradeRequest,
  pool: Pool,
  key: string | undefined,
): void {
  ctx.tunnels.add(client);
  let previous: BackendState | undefined;
  let attempt = 0;
  let ended = false;
  const startedAt = performance.now();
  let backendId: string | undefined;
  let bytesIn = 0;
  let bytesOut = 0;
  const end = () => {
    if (ended) return;
    ended = true;
    ctx.tunnels.delete(client);
    if (ctx.accessLog) {
      ctx.logger.info(
        {
          listener: ctx.name,
          id: request.requestId,
          method: request.method,
          url: request.path,
          upgrade: true,
          backend: backendId,
          attempts: attempt + 1,
          ms: Math.round(performance.now() - startedAt),
          bytesIn,
          bytesOut,
        },
        "tunnel closed",
      );
    }
    ctx.onTunnelEnd();
  };
  let tunnelOpen = false;
  client.on("error", () => client.destroy());
  client.once("close", end);
  // node's server sockets allow half-open connections; a client that ends before the
  // tunnel exists is gone (once the tunnel is open, pipe() passes the FIN on).
  client.once("end", () => {
    if (!tunnelOpen) client.destroy();
  });

  const tryBackend = (): void => {
    const lease = pool.acquire(key, previous);
    if (lease === undefined) {
      refuse(client, 503, request.requestId);
      return;
    }
    const backend = lease.backend;
    const upstream: Socket = connect({ host: backend.host, port: backend.port });
    let connected = false;
    const timer = setTimeout(() => {
      upstream.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    }, ctx.connectTimeoutMs);
    const abandon = () => upstream.destroy();
    client.once("close", abandon);
    upstream.once("connect", () => {
      clearTimeout(timer);
      connected = true;
      tunnelOpen = true;
      backendId = backend.id;
      lease.established();
      upstream.write(headText(request));
      if (request.early.length > 0) upstream.write(request.early);
      // As on every data plane: bytesIn from the client, bytesOut back to it.
      upstream.on("data", (chunk: Buffer) => {
        bytesOut += chunk.length;
      });
      client.on("data", (chunk: Buffer) => {
        bytesIn += chunk.length;
      });
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", (error: Error & { code?: string }) => {
      clearTimeout(timer);
      if (connected) return;
      client.off("close", abandon);
      lease.release({ ok: false });
      if (client.destroyed) return;
      previous = backend;
      if (attempt < ctx.attempts) {
        attempt++;
        tryBackend();
        return;
      }
      const status = error.code === "ETIMEDOUT" ? 504 : 502;
      ctx.logger.warn(
        { listener: ctx.name, id: request.requestId, backend: backend.id, code: error.code },
        "upgrade: backend unreachable",
      );
      refuse(client, status, request.requestId);
    });
    upstream.once("close", () => {
      clearTimeout(timer);
      // Not connected: the error handler released it, or the client left while connecting
      // (then the backend is not to blame). Lease.release is idempotent.
      lease.release({ ok: true, bytesIn, bytesOut });
      if (connected) client.destroy();
    });
    client.once("close", () => {
      if (connected) upstream.destroy();
    });
  };
  tryBackend();
}

/**
 * Writes a short response on a raw socket and closes it: an error, or with `location` a
 * redirect (a redirect route answers an upgrade request the way it answers any other).
 */
export function refuse(socket: Duplex, status: number, requestId: string, location?: string): void {
  if (socket.destroyed) return;
  const body = `${status} ${STATUS_CODES[status]}\nrequest id: ${requestId}\n`;
  const redirect =
    location === undefined ? "" : `Location: ${location}\r\nCache-Control: no-store\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n${redirect}` +
      `Content-Length: ${body.length}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function headText(request: UpgradeRequest): string {
  let text = `${request.method} ${request.path} HTTP/1.1\r\n`;
  const headers = request.headers;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
}
