/** Turns zod's validation issues into ConfigIssues that say what is wrong and what is valid. */
import type { z } from "zod";
import { type ConfigIssue, formatPath, formatValue } from "./errors.js";
import { bindAddress, cidr, duration, hostPort } from "./schema/common.js";
import { hashKeySchema } from "./schema/pool.js";
import { keysAt, numberBounds, schemaAt, unwrap } from "./schema-walk.js";

type ZodIssue = z.core.$ZodIssue & { input?: unknown };
type AnySchema = z.ZodType;

/** What the shared value types accept, in the words the docs use. */
const validText = new Map<AnySchema, string>([
  [unwrap(duration), 'expected a duration such as "250ms", "5s", "2m", "1h" or a number of ms'],
  [unwrap(hostPort), 'expected "host:port", such as "127.0.0.1:8080" or "[::1]:8080"'],
  [unwrap(bindAddress), 'expected "host:port", "[v6]:port" or a port number such as 8080'],
  [unwrap(cidr), 'expected an address or CIDR block such as "10.0.0.0/8" or "::1"'],
  [
    unwrap(hashKeySchema),
    "expected client_ip, client_ip_port, url, path, host, or { header | cookie | query: NAME }",
  ],
]);

/** Every zod issue as one or more ConfigIssues (unknown keys give one issue per key). */
export function describeIssues(
  issues: readonly ZodIssue[],
  root: AnySchema,
  document: unknown,
  file: string,
  /** The `${VAR}` text a value came from, shown instead of a secret from the environment. */
  reference: (path: readonly PropertyKey[]) => string | undefined = () => undefined,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    const schema = schemaAt(root, path, document);
    if (issue.code === "unrecognized_keys") {
      const allowed = schema ? keysAt(schema, issue.input) : [];
      for (const key of issue.keys) {
        out.push({
          file,
          path: formatPath([...path, key]),
          problem: "unknown key",
          expected: describeAllowedKeys(key, allowed),
        });
      }
      continue;
    }
    const described = describeOne(issue, schema);
    const source = reference(path);
    if (source !== undefined && described.got !== undefined) {
      described.got = `${source} from the environment`;
    }
    out.push({ file, path: formatPath(path), ...described });
  }
  return out;
}

function describeOne(
  issue: ZodIssue,
  schema: AnySchema | undefined,
): Pick<ConfigIssue, "problem" | "expected" | "got"> {
  const known = schema === undefined ? undefined : validText.get(schema);
  const got = issue.input === undefined ? undefined : formatValue(issue.input);
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) {
        return { problem: "missing", expected: known ?? `expected ${article(issue.expected)}` };
      }
      return {
        problem: `wrong type (${typeName(issue.input)})`,
        expected:
          known ??
          expectedNumber(schema) ??
          backendHint(schema, issue.input) ??
          `expected ${article(issue.expected)}`,
        got,
      };
    case "too_small":
    case "too_big":
      return describeSize(issue, schema, got);
    case "invalid_value": {
      const values = issue.values.map(String);
      if (values.length === 1)
        return { problem: "wrong value", expected: `expected ${values[0]}`, got };
      const hint = suggest(String(issue.input), values);
      return {
        problem: "unknown value",
        expected: `${hint ? `did you mean "${hint}"? ` : ""}expected one of ${values.join(", ")}`,
        got,
      };
    }
    case "invalid_format":
      return {
        problem: "invalid format",
        expected: issue.message.startsWith("expected")
          ? issue.message
          : (known ?? expectedFormat(issue)),
        got,
      };
    case "invalid_union":
      return describeUnion(issue, known, got);
    case "custom":
      return { problem: issue.message, got: isScalar(issue.input) ? got : undefined };
    default:
      return { problem: issue.message, got: isScalar(issue.input) ? got : undefined };
  }
}

function describeSize(
  issue: ZodIssue & { code: "too_small" | "too_big" },
  schema: AnySchema | undefined,
  got: string | undefined,
): Pick<ConfigIssue, "problem" | "expected" | "got"> {
  const small = issue.code === "too_small";
  if (issue.origin === "number" || issue.origin === "int") {
    // An exclusive bound (`floor` must be above 0) cannot be said as "from 0 to 1".
    const exclusive = (issue as { inclusive?: boolean }).inclusive === false;
    const limit = small
      ? (issue as { minimum: unknown }).minimum
      : (issue as { maximum: unknown }).maximum;
    return {
      problem: small ? "too small" : "too large",
      expected: exclusive
        ? `expected a number ${small ? "above" : "below"} ${limit}`
        : (expectedNumber(schema) ?? issue.message),
      got,
    };
  }
  // Custom messages ("at least one listener is needed") already say it best.
  const custom = !/^Too (small|big)/.test(issue.message);
  const limit = small
    ? (issue as { minimum: unknown }).minimum
    : (issue as { maximum: unknown }).maximum;
  const unit = issue.origin === "string" ? "characters" : "entries";
  return {
    problem: custom ? issue.message : small ? `too few ${unit}` : `too many ${unit}`,
    expected: custom ? undefined : `expected ${small ? "at least" : "at most"} ${limit} ${unit}`,
    got: issue.origin === "string" ? got : undefined,
  };
}

function describeUnion(
  issue: ZodIssue & { code: "invalid_union" },
  known: string | undefined,
  got: string | undefined,
): Pick<ConfigIssue, "problem" | "expected" | "got"> {
  const tagged = issue as { discriminator?: string; options?: unknown[] };
  if (tagged.discriminator !== undefined) {
    const input = issue.input as Record<string, unknown> | undefined;
    const value = input?.[tagged.discriminator];
    const options = (tagged.options ?? []).map(String);
    const hint = typeof value === "string" ? suggest(value, options) : undefined;
    return {
      problem: value === undefined ? "missing" : `unknown ${tagged.discriminator}`,
      expected: `${hint ? `did you mean "${hint}"? ` : ""}expected one of ${options.join(", ")}`,
      got: value === undefined ? undefined : formatValue(value),
    };
  }
  // A branch that failed on more than the type came closest: its message is the useful one.
  const closest = issue.errors
    .map((branch) => branch[0])
    .find((first) => first !== undefined && first.code !== "invalid_type");
  // A branch whose shape fitted but whose own check failed ("10.0.0.300" is no address) says
  // exactly what is wrong.
  const checked = issue.errors.map((branch) => branch[0]).find((first) => first?.code === "custom");
  if (checked !== undefined) return { problem: checked.message, got };
  if (known !== undefined) {
    return {
      problem: closest ? "invalid value" : `wrong type (${typeName(issue.input)})`,
      expected: known,
      got,
    };
  }
  if (closest !== undefined) {
    return { problem: "invalid value", expected: closest.message, got };
  }
  const types = issue.errors
    .map((branch) => branch[0])
    .filter((first) => first?.code === "invalid_type")
    .map((first) => article((first as { expected: string }).expected));
  return {
    problem: `wrong type (${typeName(issue.input)})`,
    expected: `expected ${types.join(" or ")}`,
    got,
  };
}

/** What a string format wants, in words: a prefix, a URL, a pattern. */
function expectedFormat(issue: ZodIssue & { code: "invalid_format" }): string {
  const detail = issue as { prefix?: string; suffix?: string; pattern?: string };
  if (issue.format === "starts_with") return `expected a value starting with "${detail.prefix}"`;
  if (issue.format === "ends_with") return `expected a value ending with "${detail.suffix}"`;
  if (issue.format === "url") return "expected a URL such as https://example.com/";
  if (issue.format === "regex") return `expected a value matching ${detail.pattern}`;
  return `expected ${issue.format}`;
}

/** A backend written as a bare "host:port" string: show the mapping it should be. */
function backendHint(schema: AnySchema | undefined, input: unknown): string | undefined {
  if (schema === undefined || typeof input !== "string") return undefined;
  if (!keysAt(schema, undefined).includes("address")) return undefined;
  return `expected a mapping such as { address: ${JSON.stringify(input)} }`;
}

/** "expected a whole number from 0 to 65535", from the schema's bounds. */
function expectedNumber(schema: AnySchema | undefined): string | undefined {
  const bounds = schema === undefined ? undefined : numberBounds(schema);
  if (bounds === undefined) return undefined;
  const kind = bounds.integer ? "a whole number" : "a number";
  const safe = (n: number | null) => n !== null && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  if (safe(bounds.min) && safe(bounds.max))
    return `expected ${kind} from ${bounds.min} to ${bounds.max}`;
  if (safe(bounds.min)) return `expected ${kind} of at least ${bounds.min}`;
  if (safe(bounds.max)) return `expected ${kind} of at most ${bounds.max}`;
  return `expected ${kind}`;
}

function describeAllowedKeys(key: string, allowed: string[]): string | undefined {
  if (allowed.length === 0) return undefined;
  const hint = suggest(key, allowed);
  return `${hint ? `did you mean "${hint}"? ` : ""}keys allowed here: ${allowed.join(", ")}`;
}

/** The closest candidate within a small edit distance, for "did you mean". */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(input.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

function article(expected: string): string {
  if (expected === "object") return "a mapping";
  if (expected === "array") return "a list";
  if (expected === "record") return "a mapping of names to settings";
  if (expected === "int") return "a whole number";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function isScalar(value: unknown): boolean {
  return value !== undefined && (typeof value !== "object" || value === null);
}
