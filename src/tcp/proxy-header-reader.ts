/**
 * Reads the PROXY protocol header that a trusted front balancer puts before the stream. The
 * bytes after the header stay in the socket (unshifted) for the backend.
 */
import type { Socket } from "node:net";
import { decodeProxyHeader, type ProxyHeader } from "../net/proxy-protocol.js";

/** Called once: the header, or undefined with the reason the stream must be closed. */
export type ProxyHeaderCallback = (header: ProxyHeader | undefined, reason: string) => void;

/** Waits up to `timeoutMs` for a complete header at the start of `socket`. */
export function readProxyHeader(
  socket: Socket,
  timeoutMs: number,
  done: ProxyHeaderCallback,
): void {
  let buffered: Buffer | undefined;
  let settled = false;
  const timer = setTimeout(
    () => settle(undefined, "no PROXY header before the timeout"),
    timeoutMs,
  );
  const settle = (header: ProxyHeader | undefined, reason: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.pause();
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("error", onError);
    socket.off("close", onClose);
    done(header, reason);
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    const result = decodeProxyHeader(buffered);
    if (result.status === "incomplete") return;
    if (result.status === "invalid") {
      settle(undefined, result.reason);
      return;
    }
    const rest = buffered.subarray(result.length);
    // Pause before handing back, so nothing flows until the backend side is piped.
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    settle(result.header, "");
  };
  const onEnd = (): void => settle(undefined, "stream ended before the PROXY header");
  const onError = (): void => settle(undefined, "socket error before the PROXY header");
  // A socket destroyed on our side (listener stop) emits neither end nor error: without
  // this the wait would hold its timer, and the process, until the timeout.
  const onClose = (): void => settle(undefined, "socket closed before the PROXY header");
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("error", onError);
  socket.on("close", onClose);
}
