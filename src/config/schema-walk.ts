/**
 * Finds the schema that validates one path of a document, so an error can say which keys
 * are allowed there or what range a number must fall in. Reads zod's definitions, which is
 * why it is kept apart in one small file.
 */
import type { z } from "zod";

type AnySchema = z.ZodType;

interface Definition {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  out?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
}

function definition(schema: AnySchema): Definition {
  return (schema as unknown as { _zod: { def: Definition } })._zod.def;
}

/** Removes wrappers (optional, default, transforms) that do not change what is accepted. */
export function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = definition(current);
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe" && def.in !== undefined) current = def.in;
    else return current;
  }
  return current;
}

/** The schema for `path` inside `root`, given the document (to choose union branches). */
export function schemaAt(
  root: AnySchema,
  path: readonly PropertyKey[],
  document: unknown,
): AnySchema | undefined {
  let schema: AnySchema | undefined = unwrap(root);
  let value = document;
  for (const part of path) {
    if (schema === undefined) return undefined;
    schema = objectBranch(schema, value);
    const def = definition(schema);
    if (def.type === "object") schema = def.shape?.[String(part)];
    else if (def.type === "array") schema = def.element;
    else if (def.type === "record") schema = def.valueType;
    else return undefined;
    value =
      typeof value === "object" && value !== null
        ? (value as Record<PropertyKey, unknown>)[part]
        : undefined;
    schema = schema === undefined ? undefined : unwrap(schema);
  }
  return schema;
}

/** The keys an object schema at this point accepts (after choosing a union branch). */
export function keysAt(schema: AnySchema, value: unknown): string[] {
  const def = definition(objectBranch(schema, value));
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/** For a union, the object branch that matches the value's discriminator (or the first). */
function objectBranch(schema: AnySchema, value: unknown): AnySchema {
  const def = definition(schema);
  if (def.type !== "union" || def.options === undefined) return schema;
  const objects = def.options.map(unwrap).filter((o) => definition(o).type === "object");
  if (def.discriminator !== undefined && isRecord(value)) {
    const wanted = value[def.discriminator];
    for (const option of objects) {
      const discriminant = unwrap(definition(option).shape?.[def.discriminator] as AnySchema);
      const literal = (definition(discriminant) as { values?: unknown[] }).values;
      if (literal?.includes(wanted)) return option;
    }
  }
  if (objects.length === 1 || (objects.length > 0 && def.discriminator === undefined)) {
    // With several plain object branches, pick the one that knows most of the given keys.
    if (!isRecord(value)) return objects[0];
    let best = objects[0];
    let bestScore = -1;
    for (const option of objects) {
      const shape = definition(option).shape ?? {};
      const score = Object.keys(value).filter((k) => k in shape).length;
      if (score > bestScore) [best, bestScore] = [option, score];
    }
    return best;
  }
  return schema;
}

/** The [min, max] bounds and integer flag of a number schema, when it is one. */
export function numberBounds(
  schema: AnySchema,
): { min: number | null; max: number | null; integer: boolean } | undefined {
  const s = schema as unknown as {
    minValue?: number | null;
    maxValue?: number | null;
    isInt?: boolean;
  };
  if (definition(schema).type !== "number") return undefined;
  return { min: s.minValue ?? null, max: s.maxValue ?? null, integer: s.isInt === true };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
