/** Runs the kernel plane's helper programs (`ip`, `bridge`): bounded, with stderr in the error. */
import { execFile } from "node:child_process";

/** Runs `program args`; resolves with its stdout, rejects naming the command and its stderr. */
export function runCommand(program: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 5000 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${program} ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}
