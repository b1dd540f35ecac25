/** Cleanups that a test file collects as it starts things, run once at its end. */

/** Runs a test file's cleanups in reverse order; one failing does not skip the others. */
export async function runCleanups(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  cleanups.length = 0;
  if (errors.length > 0) throw errors[0];
}
