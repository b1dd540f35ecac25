/** Small HTTP helpers of the admin server: JSON answers, bodies with a size limit, errors. */
import type { IncomingMessage, ServerResponse } from "node:http";

/** The largest request body the admin API reads (a whole config fits easily). */
export const MAX_BODY_BYTES = 1 << 20;

/** An error that becomes a JSON answer with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Sends `body` as JSON: indented for people, or compact for calls made by the thousand. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  compact = false,
): void {
  const text = `${compact ? JSON.stringify(body) : JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/** Sends an error as `{ error, ...details }`. */
export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.message, ...error.details });
}

/**
 * Reads the whole body as text; 413 beyond MAX_BODY_BYTES. Events rather than `for await`:
 * registrations arrive by the thousand per second, and the async iterator costs more than
 * the rest of the read.
 */
export function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`));
        // Reading on would let a client stream forever; the connection goes.
        req.destroy();
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () =>
      resolve(
        chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8"),
      ),
    );
    req.once("error", reject);
    req.once("aborted", () => reject(new HttpError(400, "the request was aborted")));
  });
}

/** Reads a JSON object body; an empty body is `{}`; anything else is a 400. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readText(req);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
