/**
 * `ballast ha keepalived-config --config FILE`: the keepalived.conf for this director;
 * `ballast ha conntrackd-config --config FILE`: the conntrackd.conf for its `ha.sync`.
 */
import { ConfigError, loadConfigFile } from "../config/load.js";
import { conntrackdConfig } from "../runtime/conntrackd-config.js";
import { keepalivedConfig } from "../runtime/keepalived-config.js";
import { parseArgs, requireFlag, UsageError } from "./args.js";

const USAGE =
  "ballast ha keepalived-config --config ballast.yaml [--router-id NAME], or ballast ha conntrackd-config --config ballast.yaml";

/** Prints the keepalived.conf for the config's `ha:` section; 1 when the config has none. */
export async function runHa(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, { config: { short: "c" }, "router-id": {} });
  const [action, ...extra] = parsed.rest;
  if ((action !== "keepalived-config" && action !== "conntrackd-config") || extra.length > 0) {
    throw new UsageError(`expected: ${USAGE}`);
  }
  const file = requireFlag(parsed, "config", USAGE);
  const routerId = parsed.flags["router-id"];
  if (
    routerId !== undefined &&
    (typeof routerId !== "string" || !/^[\w.-]{1,64}$/.test(routerId))
  ) {
    throw new UsageError("--router-id takes letters, digits, _ . - only");
  }
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  if (config.ha === undefined) {
    console.error(`${file}: there is no ha: section; docs/kernel-ha.md shows one`);
    return 1;
  }
  if (action === "keepalived-config") {
    process.stdout.write(keepalivedConfig(config.ha, { routerId, source: file }));
    return 0;
  }
  const conntrackd = conntrackdConfig(config.ha);
  if (conntrackd === undefined) {
    console.error(`${file}: ha has no sync: section; docs/kernel-ha.md shows one`);
    return 1;
  }
  process.stdout.write(conntrackd);
  return 0;
}
