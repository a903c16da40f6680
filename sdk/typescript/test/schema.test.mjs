// Schema conversion: the README's fields style, JSON Schema and zod become the JSON Schema the
// control plane stores, and the checks agree with it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";

import { checkerFor, SchemaError, toJsonSchema } from "@orra-studio/sdk";

const README_INPUT = {
  type: "object",
  fields: [{ name: "customerId", type: "string", format: "uuid" }],
  required: ["customerId"],
};

test("the README's fields style becomes properties, as the control plane converts it", () => {
  assert.deepEqual(toJsonSchema(README_INPUT, "input"), {
    type: "object",
    properties: { customerId: { type: "string", format: "uuid" } },
    required: ["customerId"],
  });
  // the caller's object is not changed
  assert.ok("fields" in README_INPUT);
});

test("an unknown field type names the field and the types allowed", () => {
  assert.throws(
    () => toJsonSchema({ fields: [{ name: "n", type: "float" }] }, "output"),
    (error) => error instanceof SchemaError && error.code === "invalid_schema" && /'n'.*"float".*number/.test(error.message),
  );
  assert.throws(() => toJsonSchema({ fields: [{ type: "string" }] }, "input"), /fields\[0\] needs a string 'name'/);
  assert.throws(() => toJsonSchema([1, 2], "input"), /got an array/);
});

test("no schema is any object; JSON Schema passes through as a copy", () => {
  assert.deepEqual(toJsonSchema(undefined, "input"), { type: "object" });
  const schema = { type: "object", properties: { a: { type: "integer" } } };
  const converted = toJsonSchema(schema, "input");
  assert.deepEqual(converted, schema);
  assert.notEqual(converted, schema);
});

test("a zod schema becomes JSON Schema with its required fields", () => {
  const Customer = z.object({ customerId: z.string(), vip: z.boolean().optional() });
  const converted = toJsonSchema(Customer, "input");
  assert.equal(converted.type, "object");
  assert.deepEqual(Object.keys(converted.properties), ["customerId", "vip"]);
  assert.deepEqual(converted.required, ["customerId"]);
});

test("checks say what is wrong, for JSON Schema, fields and zod alike", () => {
  const fields = checkerFor({ type: "object", fields: [{ name: "balance", type: "number", minimum: 0 }] }, "output");
  assert.equal(fields({ balance: 3 }), null);
  assert.match(fields({ balance: -1 }), /\/balance must be >= 0/);
  const json = checkerFor({ type: "object", required: ["id"] }, "output");
  assert.match(json({}), /must have required property 'id'/);
  const zod = checkerFor(z.object({ id: z.string() }), "output");
  assert.equal(zod({ id: "x" }), null);
  assert.match(zod({ id: 1 }), /^id: /);
  // formats are not enforced, as on the control plane
  assert.equal(checkerFor(README_INPUT, "input")({ customerId: "not-a-uuid" }), null);
});

test("a schema that is not valid JSON Schema is refused when the service is made", () => {
  assert.throws(() => checkerFor({ type: "object", properties: { a: { type: 12 } } }, "input"), SchemaError);
});
