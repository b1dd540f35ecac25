/**
 * A listener's certificate and key, read and checked whenever a config is loaded (`check`,
 * `start`, every reload): a missing, unparsable or mismatched file is a config error rather
 * than a crash at listen, and a renewed certificate is new material that a reload applies.
 */
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { createSecureContext } from "node:tls";

/** A certificate chain and key are a few KB; anything this large is the wrong file. */
const MAX_PEM_BYTES = 1 << 20;

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM a listener serves, with what tells one version of it from another. */
export class TlsMaterial {
  constructor(
    readonly cert: string,
    readonly key: string,
    /** SHA-256 of the certificate chain and the key: a reload compares it. */
    readonly digest: string,
    /** The served (first) certificate's fingerprint and expiry, for people. */
    readonly fingerprint256: string,
    readonly validTo: string,
  ) {}

  /**
   * Configs are compared and shown as JSON: the digest stands for the PEM text, so the key
   * never appears in the admin API and a changed file still makes a different config.
   */
  toJSON(): Record<string, string> {
    return { fingerprint256: this.fingerprint256, validTo: this.validTo, sha256: this.digest };
  }
}

/** What is wrong with one of the two fields (`cert` or `key`). */
export interface TlsProblem {
  field: "cert" | "key";
  message: string;
}

/** Reads and checks `tls: { cert, key }` (each a file path or inline PEM). */
export function loadTlsMaterial(tls: {
  cert: string;
  key: string;
}): { material: TlsMaterial; problems?: undefined } | { problems: TlsProblem[] } {
  const problems: TlsProblem[] = [];
  const fail = (field: TlsProblem["field"], message: string) => {
    problems.push({ field, message });
    return undefined;
  };

  const certText = pemText(tls.cert, (message) => fail("cert", message));
  const keyText = pemText(tls.key, (message) => fail("key", message));
  const chain = certText === undefined ? undefined : parseChain(tls.cert, certText, fail);
  const key = keyText === undefined ? undefined : parseKey(tls.key, keyText, fail);
  if (certText === undefined || keyText === undefined || chain === undefined || key === undefined) {
    return { problems };
  }

  const leaf = chain[0];
  if (!leaf.checkPrivateKey(key)) {
    return {
      problems: [
        {
          field: "key",
          message: `the key does not belong to the certificate in ${describe(tls.cert)}`,
        },
      ],
    };
  }
  try {
    // What the https server will do with them: catches what OpenSSL alone refuses
    // (a key too small for its security level, for one).
    createSecureContext({ cert: certText, key: keyText });
  } catch (error) {
    return { problems: [{ field: "cert", message: `not usable for TLS: ${reason(error)}` }] };
  }
  const digest = createHash("sha256").update(certText).update("\0").update(keyText).digest("hex");
  return {
    material: new TlsMaterial(certText, keyText, digest, leaf.fingerprint256, leaf.validTo),
  };
}

/** A PEM given inline ("-----BEGIN ...") or the text of the file it names. */
function pemText(value: string, fail: (message: string) => undefined): string | undefined {
  if (value.trimStart().startsWith("-----BEGIN")) return value;
  return readSmallFile(value, fail);
}

/**
 * Reads a regular file of at most MAX_PEM_BYTES. Opened non-blocking, so a path to a FIFO or
 * a device (from a reload sent to the admin API, say) is refused instead of hanging.
 */
function readSmallFile(path: string, fail: (message: string) => undefined): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return fail(`cannot read ${path}: ${readError(error)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) return fail(`cannot read ${path}: not a regular file`);
    const buffer = Buffer.alloc(MAX_PEM_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) {
      n = readSync(fd, buffer, length, buffer.length - length, null);
    }
    if (length > MAX_PEM_BYTES) {
      return fail(`${path} is larger than ${MAX_PEM_BYTES >> 20} MiB; expected a PEM file`);
    }
    return buffer.toString("utf8", 0, length);
  } catch (error) {
    return fail(`cannot read ${path}: ${readError(error)}`);
  } finally {
    closeSync(fd);
  }
}

/** Every certificate of the chain, the served one first; undefined after a problem. */
function parseChain(
  source: string,
  text: string,
  fail: (field: "cert", message: string) => undefined,
): X509Certificate[] | undefined {
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) {
    return fail(
      "cert",
      `${describe(source)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  const chain: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch (error) {
      const which = blocks.length === 1 ? "the certificate" : `certificate ${i + 1}`;
      return fail("cert", `${which} in ${describe(source)} cannot be parsed: ${reason(error)}`);
    }
  }
  return chain;
}

/** The private key; undefined after a problem. */
function parseKey(
  source: string,
  text: string,
  fail: (field: "key", message: string) => undefined,
): KeyObject | undefined {
  try {
    return createPrivateKey(text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MISSING_PASSPHRASE") {
      return fail(
        "key",
        `the key in ${describe(source)} is encrypted; expected an unencrypted PEM key (openssl pkey -in KEY -out PLAIN)`,
      );
    }
    return fail("key", `${describe(source)} holds no usable PEM private key: ${reason(error)}`);
  }
}

/** "/etc/ssl/site.pem", or "the inline PEM"; never the PEM text itself. */
function describe(source: string): string {
  return source.trimStart().startsWith("-----BEGIN") ? "the inline PEM" : source;
}

function readError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "ENOENT (no such file)";
  if (code === "EACCES") return "EACCES (permission denied)";
  if (code === "EISDIR") return "EISDIR (it is a directory)";
  return code ?? reason(error);
}

/** OpenSSL's reason, without node's "error:0680007B:" prefix noise. */
function reason(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return message.replace(/^error:[0-9A-Fa-f]+:/, "").split("\n")[0];
}
