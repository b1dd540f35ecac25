/** The Cache-Control field (RFC 9111 5.2) parsed into directives, as the cache needs them. */

/** Directive name (lower case) to its argument, or `true` for a directive without one. */
export type Directives = Map<string, string | true>;

const EMPTY: Directives = new Map();

/**
 * Parses a Cache-Control value. Unknown directives are kept (and ignored by the callers);
 * a quoted argument loses its quotes. A missing or empty field gives an empty map.
 */
export function parseCacheControl(value: string | undefined): Directives {
  if (value === undefined || value.length === 0) return EMPTY;
  const directives: Directives = new Map();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name.length === 0) continue;
    let argument: string | true = true;
    if (eq >= 0) {
      argument = part.slice(eq + 1).trim();
      if (argument.length >= 2 && argument.startsWith('"') && argument.endsWith('"')) {
        argument = argument.slice(1, -1);
      }
    }
    // RFC 9111 4.2.1: with a duplicated directive the first one counts.
    if (!directives.has(name)) directives.set(name, argument);
  }
  return directives;
}

/**
 * A delta-seconds argument (RFC 9111 1.2.2), or undefined when absent or not a number: a
 * directive whose argument is invalid is ignored rather than guessed at.
 */
export function secondsOf(directives: Directives, name: string): number | undefined {
  const argument = directives.get(name);
  if (argument === undefined || argument === true || !/^\d+$/.test(argument)) return undefined;
  return Number(argument);
}
