/**
 * Send-expect check (HAProxy `tcp-check send` / `tcp-check expect rstring`, keepalived's
 * SMTP_CHECK idea): send some bytes, then wait for a reply matching a pattern, such as
 * Redis `PING\r\n` answered by `+PONG`.
 */
import { connect } from "node:net";
import {
  type CheckResult,
  type CheckTarget,
  describeError,
  failed,
  type HealthCheck,
  passed,
} from "./types.js";

/** What to send and what must come back. */
export interface SendExpectOptions {
  /** Bytes to send after connecting, with \r \n \t \\ and \xHH escapes; empty sends nothing. */
  send?: string;
  /** A regular expression the reply must match (tested on everything received so far). */
  expect: string;
}

/** Most reply bytes kept while waiting for a match. */
const MAX_REPLY_BYTES = 16 * 1024;

/** Healthy when the reply to `send` matches `expect` before the timeout. */
export function createSendExpectCheck(options: SendExpectOptions): HealthCheck {
  const payload = unescapeBytes(options.send ?? "");
  const pattern = new RegExp(options.expect);
  return {
    type: "send-expect",
    check: (target, signal) => checkSendExpect(target, signal, payload, pattern),
  };
}

function checkSendExpect(
  target: CheckTarget,
  signal: AbortSignal,
  payload: Buffer,
  pattern: RegExp,
): Promise<CheckResult> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(failed("timed out before connecting", "L4TOUT"));
    const socket = connect({ host: target.host, port: target.port });
    let connected = false;
    let reply = "";
    const finish = (result: CheckResult) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => {
      if (!connected) finish(failed("timed out connecting", "L4TOUT"));
      else if (reply === "") finish(failed("timed out waiting for a reply", "L7TOUT"));
      else finish(failed(`no match in ${quote(reply)}`, "L7RSP"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      connected = true;
      if (payload.length > 0) socket.write(payload);
    });
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      if (reply.length < MAX_REPLY_BYTES) reply += chunk;
      if (pattern.test(reply)) finish(passed(`reply matched: ${quote(reply)}`, "L7OK"));
      else if (reply.length >= MAX_REPLY_BYTES) {
        finish(failed(`no match in ${quote(reply)}`, "L7RSP"));
      }
    });
    socket.once("end", () =>
      finish(failed(`closed without a match${reply === "" ? "" : ` in ${quote(reply)}`}`, "L7RSP")),
    );
    socket.once("error", (error) =>
      finish(failed(describeError(error), connected ? "L7RSP" : "L4CON")),
    );
  });
}

/** Turns the config's escapes (\r, \n, \t, \0, \\, \xHH) into the bytes they name. */
export function unescapeBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== "\\" || i + 1 >= text.length) {
      for (const byte of Buffer.from(char, "utf8")) bytes.push(byte);
      continue;
    }
    const next = text[++i];
    if (next === "r") bytes.push(13);
    else if (next === "n") bytes.push(10);
    else if (next === "t") bytes.push(9);
    else if (next === "0") bytes.push(0);
    else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(next.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

/** A short, printable excerpt of a reply for the check's detail. */
function quote(reply: string): string {
  const shown = reply.length > 60 ? `${reply.slice(0, 60)}...` : reply;
  return JSON.stringify(shown);
}
