/**
 * Environment interpolation for secrets: `${VAR}` and `${VAR:-default}` inside YAML string
 * values; `$${` stands for a literal `${`. It works on parsed scalars rather than the raw
 * text, so a secret holding quotes or colons cannot change the structure of the document.
 */
import { type Document, isMap, isPair, isScalar, isSeq, type Scalar } from "yaml";

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/** A `${VAR}` that has no value and no default. */
export interface MissingVariable {
  name: string;
  path: (string | number)[];
  node: Scalar;
}

/**
 * Replaces references in every value of the document, in place. Returns the references that
 * could not be resolved and the paths whose value came from the environment (so errors can
 * show the reference instead of the secret).
 */
export function interpolateEnvironment(
  doc: Document,
  env: Readonly<Record<string, string | undefined>>,
): { missing: MissingVariable[]; fromEnvironment: Map<string, string> } {
  const missing: MissingVariable[] = [];
  const fromEnvironment = new Map<string, string>();
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) visit(node.items[i], [...path, i]);
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("${")) {
      const original = node.value;
      let unresolved = false;
      const replaced = original.replace(REFERENCE, (match, name?: string, fallback?: string) => {
        if (name === undefined) return "${"; // the `$${` escape
        const value = env[name];
        if (value !== undefined && value !== "") return value;
        if (fallback !== undefined) return fallback;
        unresolved = true;
        missing.push({ name, path, node });
        return match;
      });
      if (unresolved) return;
      // An unquoted value that is one reference takes the type it reads as (a port number).
      node.value =
        node.type === "PLAIN" && WHOLE_REFERENCE.test(original) ? retype(replaced) : replaced;
      if (replaced !== original) fromEnvironment.set(JSON.stringify(path), original);
    }
  };
  visit(doc.contents, []);
  return { missing, fromEnvironment };
}

function retype(text: string): string | number | boolean {
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}
