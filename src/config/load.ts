/**
 * Loads a config file: YAML, environment interpolation, validation against the schema.
 * Every problem becomes a ConfigError issue naming the file and the path inside it.
 */
import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument, type YAMLError } from "yaml";
import { describeIssues } from "./describe-issues.js";
import { ConfigError, type ConfigIssue, formatPath } from "./errors.js";
import { interpolateEnvironment } from "./interpolate.js";
import { unknownPoolReferences } from "./references.js";
import { type Config, configSchema } from "./schema/index.js";

export { ConfigError, type ConfigIssue, formatIssue } from "./errors.js";

const MAX_SYNTAX_ERRORS = 3;

/** Where loading looks for `${VAR}` values; process.env by default. */
export interface LoadOptions {
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads, interpolates and validates a config file; throws ConfigError on any problem. */
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError([
      { file: path, path: "", problem: `cannot read the file (${describeReadError(reason)})` },
    ]);
  }
  return parseConfigText(text, path, options);
}

/** Parses YAML text into a validated config; `sourceName` is the file named in errors. */
export function parseConfigText(
  text: string,
  sourceName: string,
  options: LoadOptions = {},
): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) throw syntaxError(doc.errors, text, sourceName, lineCounter);
  if (doc.contents === null) {
    throw new ConfigError([
      { file: sourceName, path: "", problem: "the file is empty; expected listeners and pools" },
    ]);
  }

  const { missing, fromEnvironment } = interpolateEnvironment(doc, options.env ?? process.env);
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map(({ name, path, node }) => ({
        file: sourceName,
        path: formatPath(path),
        problem: `environment variable ${name} is not set`,
        expected: `set it, or give a default as \${${name}:-value}`,
        ...position(lineCounter, node.range?.[0]),
      })),
    );
  }

  const document: unknown = doc.toJS({ maxAliasCount: 1000 });
  const result = configSchema.safeParse(document, { reportInput: true });
  if (result.success) return result.data;

  // Never print a secret that came from the environment: show the reference instead.
  const reference = (path: readonly PropertyKey[]) => fromEnvironment.get(JSON.stringify(path));
  const issues = describeIssues(result.error.issues, configSchema, document, sourceName, reference);
  const reported = new Set(issues.map((issue) => issue.path));
  for (const issue of unknownPoolReferences(document, sourceName)) {
    if (!reported.has(issue.path)) issues.push(issue);
  }
  for (const issue of issues) addPosition(issue, doc, lineCounter);
  throw new ConfigError(issues);
}

/** The first few YAML syntax errors (later ones are mostly echoes of the first). */
function syntaxError(
  errors: readonly YAMLError[],
  text: string,
  sourceName: string,
  lineCounter: LineCounter,
): ConfigError {
  const shown = errors.slice(0, MAX_SYNTAX_ERRORS).map((error): ConfigIssue => {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    // `${VAR}` unquoted inside { } or [ ] reads as a nested mapping: say how to fix it.
    const hint = /\$\{/.test(text.split("\n")[line - 1] ?? "")
      ? // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal reference in the hint
        ' (quote values that hold ${...}, as in "${VAR}")'
      : "";
    return {
      file: sourceName,
      path: "",
      problem: `YAML syntax error: ${firstLine(error.message)}${hint}`,
      line,
      column: col,
    };
  });
  if (errors.length > MAX_SYNTAX_ERRORS) {
    shown.push({
      file: sourceName,
      path: "",
      problem: `and ${errors.length - MAX_SYNTAX_ERRORS} more YAML syntax errors after these`,
    });
  }
  return new ConfigError(shown);
}

/** Adds the line and column of the issue's path, for editors and the admin API. */
function addPosition(
  issue: ConfigIssue,
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
): void {
  const keys = parsePath(issue.path);
  if (keys.length === 0) return;
  const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
  Object.assign(issue, position(lineCounter, node?.range?.[0]));
}

function position(lineCounter: LineCounter, offset: number | undefined) {
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** The inverse of formatPath, for looking nodes up in the YAML document. */
function parsePath(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  const part = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let match = part.exec(path); match !== null; match = part.exec(path)) {
    if (match[1] !== undefined) keys.push(match[1]);
    else if (match[2] !== undefined) keys.push(Number(match[2]));
    else keys.push(JSON.parse(match[3]) as string);
  }
  return keys;
}

function describeReadError(code: string): string {
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return code;
}

function firstLine(message: string): string {
  return message.split("\n")[0];
}
