/**
 * ballast's own HTTP/1.1 server on `net` (or `tls`) sockets, in place of node's
 * `http.Server`: the same events the listener already handles (`connection` at accept,
 * `request`, `checkContinue`, `upgrade`, `connect`, `clientError`), the same knobs
 * (`headersTimeout`, `keepAliveTimeout`, `maxHeaderSize`) and the same stop
 * (`close`, `closeIdleConnections`, `closeAllConnections`), but a strict parser over the raw
 * bytes and no IncomingMessage, ServerResponse or stream per request.
 */
import { EventEmitter } from "node:events";
import { type AddressInfo, createServer, type Server as NetServer, type Socket } from "node:net";
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
} from "node:tls";
import { ClientConnection, type ConnectionServer } from "./client-connection.js";
import type { ClientRequest } from "./client-request.js";
import type { ClientResponse } from "./client-response.js";

/** How the server is made. */
export interface BallastServerOptions {
  maxHeaderSize: number;
  /** ms a request head may take to arrive (408 after). */
  headersTimeout: number;
  /** ms an idle keep-alive connection is kept. */
  keepAliveTimeout: number;
  /** Terminate TLS with this certificate and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** The HTTP/1.1 server of one listener. */
export class BallastHttpServer extends EventEmitter implements ConnectionServer {
  headersTimeout: number;
  keepAliveTimeout: number;
  /** New connections get this limit; open ones keep theirs. */
  maxHeaderSize: number;
  private readonly server: NetServer | TlsServer;
  private readonly connections = new Set<ClientConnection>();

  constructor(options: BallastServerOptions) {
    super();
    this.headersTimeout = options.headersTimeout;
    this.keepAliveTimeout = options.keepAliveTimeout;
    this.maxHeaderSize = options.maxHeaderSize;
    const tls = options.tls;
    if (tls === undefined) {
      this.server = createServer({ noDelay: true }, (socket) => {
        // Limits act at accept (the listener's `connection` handler may destroy the socket).
        this.emit("connection", socket);
        if (!socket.destroyed) this.attach(socket, undefined);
      });
    } else {
      const server = createTlsServer({
        cert: tls.cert,
        key: tls.key,
        noDelay: true,
        ALPNProtocols: ["http/1.1"],
      });
      // The raw socket, before any handshake: the limits see it first.
      server.on("connection", (socket: Socket) => this.emit("connection", socket));
      server.on("secureConnection", (socket: Socket) => this.attach(socket, undefined));
      // A failed handshake costs the socket only (tls destroys it).
      server.on("tlsClientError", noop);
      this.server = server;
    }
    this.server.on("error", (error) => this.emit("error", error));
  }

  /** True while accepting. */
  get listening(): boolean {
    return this.server.listening;
  }

  /** Binds and starts accepting. */
  listen(options: { host: string; port: number }, callback: () => void): this {
    this.server.listen(options, callback);
    return this;
  }

  /** Stops accepting; `callback` runs once every connection has closed. */
  close(callback: () => void): this {
    this.server.close(() => callback());
    return this;
  }

  /** The bound address. */
  address(): AddressInfo | string | null {
    return this.server.address();
  }

  /** A renewed certificate for new handshakes. */
  setSecureContext(options: SecureContextOptions): void {
    (this.server as TlsServer).setSecureContext(options);
  }

  /** Closes the connections that have no request under way. */
  closeIdleConnections(): void {
    for (const connection of this.connections) if (connection.idle) connection.destroy();
  }

  /** Closes every connection. */
  closeAllConnections(): void {
    for (const connection of this.connections) connection.destroy();
  }

  /**
   * Takes a connection back after an upgrade the backend refused: its next bytes (`early`
   * first) are parsed as HTTP requests again.
   */
  adopt(socket: Socket, early: Buffer): void {
    this.attach(socket, early);
  }

  // ---- ConnectionServer ----------------------------------------------------------------------

  onRequest(req: ClientRequest, res: ClientResponse, expectContinue: boolean): void {
    this.emit(expectContinue ? "checkContinue" : "request", req, res);
  }

  onUpgrade(req: ClientRequest, socket: Socket, early: Buffer): void {
    this.emit(req.method === "CONNECT" ? "connect" : "upgrade", req, socket, early);
  }

  onClientError(error: Error & { code: string }, socket: Socket): void {
    this.emit("clientError", error, socket);
  }

  onIdleTimeout(socket: Socket): void {
    this.emit("idle", socket);
  }

  removed(connection: ClientConnection): void {
    this.connections.delete(connection);
  }

  private attach(socket: Socket, early: Buffer | undefined): void {
    if (socket.destroyed) return;
    const connection = new ClientConnection(this, socket);
    this.connections.add(connection);
    if (early !== undefined) connection.start(early);
  }
}

function noop(): void {}
