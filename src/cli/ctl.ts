/** `ballast ctl`: placeholder until the control-plane client lands. */

/** Runs `ballast ctl <args>`; returns the process exit code. */
export async function runCtl(_args: string[]): Promise<number> {
  console.error("ctl is not available yet");
  return 1;
}
