/**
 * Config errors that a person can act on: the file, the path inside it, what is wrong, what
 * would be valid and the value that was found, one line per problem.
 */

/** One problem in a config file. */
export interface ConfigIssue {
  /** The file (or other source name) the config came from. */
  file: string;
  /** Path inside the document, such as `pools.api.backends[2].weight`; "" for the whole file. */
  path: string;
  /** What is wrong. */
  problem: string;
  /** What would be valid, when it can be said. */
  expected?: string;
  /** The offending value, already formatted for display. */
  got?: string;
  /** 1-based position in the file, when known. */
  line?: number;
  column?: number;
}

/** A config that cannot be used; `issues` lists every problem found. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** `FILE: path: problem; expected (got value)`; YAML syntax errors carry `FILE:line:col`. */
export function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.path === ""
      ? issue.line === undefined
        ? issue.file
        : `${issue.file}:${issue.line}:${issue.column ?? 1}`
      : `${issue.file}: ${issue.path}`;
  let text = `${where}: ${issue.problem}`;
  if (issue.expected !== undefined) text += `; ${issue.expected}`;
  if (issue.got !== undefined) text += ` (got ${issue.got})`;
  return text;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Dots for keys and [i] for indexes: `pools.api.backends[2].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else {
      const key = String(part);
      // Keys that would read ambiguously after a dot (pool names may hold dots) are quoted.
      if (IDENTIFIER.test(key)) text += text === "" ? key : `.${key}`;
      else text += `[${JSON.stringify(key)}]`;
    }
  }
  return text;
}

/** A value as it appears in an error: strings quoted, long objects cut short. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = typeof value === "string" ? JSON.stringify(value) : safeJson(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
