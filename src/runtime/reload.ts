/** Reload entry points: validate a config file or text first, then apply it to the runtime. */
import { ConfigError, type ConfigIssue, formatIssue } from "../config/errors.js";
import { loadConfigFile, parseConfigText } from "../config/load.js";
import type { Config } from "../config/schema/index.js";
import type { ReloadOrigin } from "./cluster-protocol.js";
import type { ReloadResult, Runtime } from "./runtime.js";

/** The answer of a reload: applied, or refused with the reasons (the old config stays). */
export type ReloadOutcome =
  | ({ ok: true } & ReloadResult)
  | { ok: false; errors: string[]; issues: readonly ConfigIssue[] };

/** Reads and validates `file` (the runtime's own file by default), then applies it. */
export async function reloadFromFile(runtime: Runtime, file?: string): Promise<ReloadOutcome> {
  const path = file ?? runtime.configFile;
  if (path === undefined) {
    return refused([
      { file: "(none)", path: "", problem: "the runtime was not started from a file" },
    ]);
  }
  return apply(runtime, () => loadConfigFile(path), { file: path });
}

/** Validates config text (YAML or JSON) named `sourceName` in errors, then applies it. */
export function reloadFromText(
  runtime: Runtime,
  text: string,
  sourceName = "(request body)",
): Promise<ReloadOutcome> {
  return apply(runtime, async () => parseConfigText(text, sourceName), { text, sourceName });
}

async function apply(
  runtime: Runtime,
  load: () => Promise<Config>,
  origin: ReloadOrigin,
): Promise<ReloadOutcome> {
  let config: Config;
  try {
    config = await load();
  } catch (error) {
    if (error instanceof ConfigError) {
      runtime.logger.warn({ errors: error.issues.map(formatIssue) }, "reload refused: bad config");
      return refused(error.issues);
    }
    throw error;
  }
  try {
    return { ok: true, ...(await runtime.reload(config, origin)) };
  } catch (error) {
    // A listener that cannot bind (address taken): nothing else was changed.
    const message = (error as Error).message;
    runtime.logger.warn({ err: error }, "reload refused: could not apply");
    return refused([{ file: runtime.configFile ?? "(config)", path: "", problem: message }]);
  }
}

function refused(issues: readonly ConfigIssue[]): ReloadOutcome {
  return { ok: false, errors: issues.map(formatIssue), issues };
}
