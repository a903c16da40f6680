// What a Service refuses when it is made, before anything goes over the network.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Agent, ConfigError, InvalidServiceName, OrraError, SchemaError, Service, z } from "@orra-studio/sdk";

const good = { name: "echo", description: "Echoes", apiKey: "k", url: "http://127.0.0.1:1", handler: (x) => x };

test("bad options are typed errors that say what to fix", () => {
  const cases = [
    [{ url: "localhost:8005" }, ConfigError, /url must start with http/],
    [{ url: "not a url" }, ConfigError, /is not a URL/],
    [{ name: "Echo" }, InvalidServiceName, /try 'echo'/],
    [{ name: "my echo" }, InvalidServiceName, /found ' '.*try 'my-echo'/],
    [{ description: "x".repeat(501) }, OrraError, /501 characters; keep it to at most 500/],
    [{ handler: "nope" }, ConfigError, /'handler' must be a function/],
    [{ input: { fields: "x" } }, SchemaError, /input.fields must be a list/],
  ];
  for (const [change, kind, message] of cases) {
    assert.throws(() => new Service({ ...good, ...change }), (e) => e instanceof kind && message.test(e.message));
  }
  const saved = process.env.ORRA_API_KEY;
  delete process.env.ORRA_API_KEY;
  try {
    assert.throws(() => new Service({ ...good, apiKey: undefined }), /an API key is required/);
  } finally {
    if (saved !== undefined) process.env.ORRA_API_KEY = saved;
  }
});

test("schemas become the registered JSON Schema; an agent says it is one", () => {
  const service = new Agent({ ...good, input: z.object({ text: z.string() }), logger: false });
  assert.equal(service.kind, "agent");
  assert.deepEqual(service.inputSchema.required, ["text"]);
  assert.deepEqual(service.outputSchema, { type: "object" });
  assert.equal(new Service(good).kind, "service");
});

test("closing a service that never started resolves, and start() after it refuses", async () => {
  const service = new Service({ ...good, logger: false });
  await service.close({ timeoutMs: 10 });
  await assert.rejects(service.start(), (e) => e instanceof OrraError && e.code === "closed");
});
