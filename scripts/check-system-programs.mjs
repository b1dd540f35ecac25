#!/usr/bin/env node
// The test command's first step: checks that every program the tests start (nginx, Redis,
// PostgreSQL, ...; see system-programs.mjs) is installed. When some are missing and this
// runs as root on Debian, it installs them with scripts/install-system-packages.sh; otherwise
// it prints one line naming what is missing and the command that installs it, and fails
// at once, before the build and the suite run.
//
// For the tests of this script: BALLAST_PRETEND_MISSING=a,b treats programs a and b as not
// installed, and BALLAST_INSTALL_DRY_RUN=1 prints the install command instead of running it.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findProgram, missingLine, missingPrograms } from "./system-programs.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const missing = missingPrograms();
if (missing.length === 0) process.exit(0);

const canInstall = process.getuid?.() === 0 && findProgram("apt-get") !== undefined;
if (!canInstall) {
  console.error(missingLine(missing));
  process.exit(1);
}

console.error(`installing the Debian packages of: ${missing.join(", ")}`);
const command = ["bash", [join("scripts", "install-system-packages.sh")]];
if (process.env.BALLAST_INSTALL_DRY_RUN === "1") {
  console.error(`dry run: would run ${command[0]} ${command[1].join(" ")}`);
} else {
  const result = spawnSync(command[0], command[1], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`scripts/install-system-packages.sh failed (${result.status ?? result.signal})`);
  }
}
const still = missingPrograms();
if (still.length > 0) {
  console.error(missingLine(still));
  process.exit(1);
}
