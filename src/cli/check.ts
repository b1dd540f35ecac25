/** `ballast check --config FILE`: validate only, print a summary or every error. */
import { ConfigError, loadConfigFile } from "../config/load.js";
import { type Config, publicAdminWarning } from "../config/schema/index.js";
import { parseArgs, requireFlag } from "./args.js";

/** Validates the file; 0 when good, 1 when not (2 for usage errors, thrown as UsageError). */
export async function runCheck(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, { config: { short: "c" } });
  const file = requireFlag(parsed, "config", "ballast check --config ballast.yaml");
  try {
    const config = await loadConfigFile(file);
    console.log(`${file}: ok: ${summarizeConfig(config)}`);
    const warning = publicAdminWarning(config.admin);
    if (warning !== undefined) console.error(`${file}: warning: ${warning}`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    const count = error.issues.length;
    console.error(`${file}: ${count} error${count === 1 ? "" : "s"}; the config was not accepted`);
    return 1;
  }
}

/** "2 listeners (http :8080, tcp :6380), 3 pools, 7 backends". */
export function summarizeConfig(config: Config): string {
  const listeners = config.listeners.map((l) => `${l.protocol} ${l.bind.host}:${l.bind.port}`);
  const pools = Object.values(config.pools);
  const backends = pools.reduce((sum, pool) => sum + pool.backends.length, 0);
  return (
    `${plural(config.listeners.length, "listener")} (${listeners.join(", ")}), ` +
    `${plural(pools.length, "pool")}, ${plural(backends, "backend")}`
  );
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}
