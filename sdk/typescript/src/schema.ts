/**
 * Service schemas in any of the three shapes people write, turned into the one JSON Schema
 * the control plane stores, plus a validator for the values a handler receives and returns:
 *
 * - JSON Schema (`{type: "object", properties: {...}, required: [...]}`);
 * - the original orra README's `fields` list (`{type: "object", fields: [{name, type}]}`),
 *   converted exactly as the control plane converts it;
 * - a zod schema, converted with zod's own `z.toJSONSchema` and checked with zod itself.
 */

import { z } from "zod";
import type { ErrorObject, ValidateFunction } from "ajv";
import * as ajvModule from "ajv/dist/2020.js";
import { SchemaError } from "./errors.js";

export type JsonSchema = { [key: string]: unknown };

/** One entry of the README style's `fields` list. */
export interface FieldSpec {
  name: string;
  type?: string | string[];
  [key: string]: unknown;
}

/** The original orra README's schema style. */
export interface FieldsSchema {
  type?: "object";
  fields: FieldSpec[];
  required?: string[];
  [key: string]: unknown;
}

export type SchemaLike = z.ZodType | FieldsSchema | JsonSchema;

/** What a handler receives for an input schema: zod's parsed type, else a plain object. */
// biome-ignore lint: any is what an untyped JSON object holds
export type InputOf<S> = S extends z.ZodType ? z.output<S> : Record<string, any>;
/** What a handler may return for an output schema: what zod accepts, else a plain object. */
// biome-ignore lint: see above
export type OutputOf<S> = S extends z.ZodType ? z.input<S> : Record<string, any>;

const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);
const ANY_OBJECT: JsonSchema = { type: "object" };

export function isZod(schema: unknown): schema is z.ZodType {
  return (
    typeof schema === "object" &&
    schema !== null &&
    "_zod" in schema &&
    typeof (schema as { safeParse?: unknown }).safeParse === "function"
  );
}

/** The JSON Schema to register for `schema`; `where` ("input"/"output") names it in errors. */
export function toJsonSchema(schema: SchemaLike | undefined | null, where: string): JsonSchema {
  if (schema === undefined || schema === null) return { ...ANY_OBJECT };
  if (isZod(schema)) {
    try {
      const io = where === "input" ? "output" : "input"; // what the handler sees / returns
      return z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
    } catch (error) {
      throw new SchemaError(`${where} schema: zod cannot express it as JSON Schema: ${String(error)}`);
    }
  }
  if (typeof schema !== "object" || Array.isArray(schema)) {
    throw new SchemaError(
      `${where} schema must be a JSON Schema object, the README's {type, fields} style or a zod schema; got ${Array.isArray(schema) ? "an array" : typeof schema}`,
    );
  }
  const copy = structuredClone(schema) as JsonSchema;
  return "fields" in copy ? fromFields(copy, where) : copy;
}

function fromFields(schema: JsonSchema, where: string): JsonSchema {
  const { fields, ...rest } = schema;
  if (!Array.isArray(fields)) throw new SchemaError(`${where}.fields must be a list`);
  const properties: JsonSchema = {};
  fields.forEach((item: unknown, index) => {
    if (typeof item !== "object" || item === null || typeof (item as FieldSpec).name !== "string") {
      throw new SchemaError(`${where}.fields[${index}] needs a string 'name'`);
    }
    const { name, ...spec } = item as FieldSpec;
    const types = Array.isArray(spec.type) ? spec.type : [spec.type];
    if (spec.type !== undefined && types.some((t) => !JSON_TYPES.has(String(t)))) {
      throw new SchemaError(
        `${where}.fields[${index}] ('${name}') has unknown type ${JSON.stringify(spec.type)}; use one of ${[...JSON_TYPES].sort().join(", ")}`,
      );
    }
    properties[name] = spec;
  });
  return {
    ...rest,
    type: rest.type ?? "object",
    properties: { ...((rest.properties as JsonSchema | undefined) ?? {}), ...properties },
  };
}

/** A check of one value: null when it fits, else what is wrong (at most three problems). */
export type Check = (value: unknown) => string | null;

// ajv is CommonJS: where its class sits depends on the module system that loads it
type Ajv = { compile(schema: object): ValidateFunction };
type AjvClass = new (options: Record<string, unknown>) => Ajv;
type Wrapped = { default?: Wrapped } & Partial<AjvClass>;
const wrapped = ajvModule as unknown as Wrapped;
const Ajv2020 = (wrapped.default?.default ?? wrapped.default ?? wrapped) as unknown as AjvClass;
let ajv: Ajv | undefined;

/** A validator for `schema` (zod's own parse for zod; JSON Schema 2020-12 otherwise). */
export function checkerFor(schema: SchemaLike | undefined | null, where: string): Check {
  if (schema === undefined || schema === null) return () => null;
  if (isZod(schema)) {
    return (value) => {
      const parsed = schema.safeParse(value);
      if (parsed.success) return null;
      return parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
        .join("; ");
    };
  }
  const { $schema: _ignored, ...json } = toJsonSchema(schema, where);
  ajv ??= new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(json);
  } catch (error) {
    throw new SchemaError(`${where} schema is not valid JSON Schema: ${(error as Error).message}`);
  }
  return (value) => {
    if (validate(value)) return null;
    return (validate.errors ?? [])
      .slice(0, 3)
      .map((e: ErrorObject) => `${e.instancePath || "(root)"} ${e.message ?? "is not allowed"}`)
      .join("; ");
  };
}

/** zod's parsed value (defaults applied, strings coerced…) or the value as it came. */
export function parsed(schema: SchemaLike | undefined | null, value: unknown): unknown {
  if (isZod(schema)) {
    const result = schema.safeParse(value);
    return result.success ? result.data : value;
  }
  return value;
}
