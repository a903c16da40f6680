// Compile-time checks of the typed API (`npm run typecheck`; nothing here runs): the handler's
// argument and return types come from zod schemas, and wrong ones do not compile.
import { Service, z } from "../src/index.js";

new Service({
  name: "customer-data-service",
  description: "Retrieves a customer's profile by id",
  apiKey: "k",
  input: z.object({ customerId: z.string(), vip: z.boolean().optional() }),
  output: z.object({ customerProfile: z.object({ id: z.string() }) }),
  handler: async ({ customerId, vip }, task) => {
    const id: string = customerId;
    const flag: boolean | undefined = vip;
    task.signal.throwIfAborted();
    task.interim({ progress: 50, flag });
    return { customerProfile: { id } };
  },
});

new Service({
  name: "typed-input",
  description: "The input's fields have their types",
  apiKey: "k",
  input: z.object({ count: z.number() }),
  // @ts-expect-error count is a number, not a string
  handler: ({ count }: { count: string }) => ({ count }),
});

new Service({
  name: "typed-output",
  description: "What the handler returns must fit the output schema",
  apiKey: "k",
  output: z.object({ total: z.number() }),
  // @ts-expect-error total must be a number
  handler: () => ({ total: "many" }),
});

new Service({
  name: "json-schema",
  description: "With JSON Schema the handler sees a plain object",
  apiKey: "k",
  input: { type: "object", properties: { text: { type: "string" } } },
  handler: (input) => ({ echo: String(input.text) }),
});
