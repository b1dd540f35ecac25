/**
 * Runs ballast's runtime on a config file without the CLI, for the benchmark when the CLI
 * is not built. Exits cleanly on SIGTERM so `--cpu-prof` can write its profile.
 * Usage: node ballast-runtime.js <config-file>
 */
import { loadConfigFile } from "../../src/config/load.js";
import { Runtime } from "../../src/runtime/runtime.js";

const runtime = new Runtime(await loadConfigFile(process.argv[2]));
await runtime.start();
process.once("SIGTERM", () => {
  runtime.stop({ graceful: true, timeoutMs: 2000 }).then(() => process.exit(0));
});
