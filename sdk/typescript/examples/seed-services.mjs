// Serve the seed services: node examples/seed-services.mjs [URL API_KEY] [name,name…]
// (URL and key default to ORRA_URL and ORRA_API_KEY). NOOP=1 makes the outputs trivial and
// CONCURRENCY (default 1) the handlers each runs at once: the benchmark's no-op services.
import { closeOnSignals } from "@orra-studio/sdk";

import { seedServices } from "./seed.mjs";

const [url, apiKey, names] = process.argv.slice(2);
const services = seedServices(names ? names.split(",") : undefined, {
  url: url || undefined,
  apiKey: apiKey || undefined,
  noop: process.env.NOOP === "1",
  concurrency: Number(process.env.CONCURRENCY ?? 1),
});
closeOnSignals(services);
try {
  await Promise.all(services.map((service) => service.start()));
} catch (error) {
  console.error(`${error.name} (${error.code}): ${error.message}`);
  process.exit(2);
}
