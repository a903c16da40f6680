// One seed service: ORRA_URL=http://localhost:8005 ORRA_API_KEY=sk-orra-… node examples/ai-assistant-service.mjs
import { closeOnSignals } from "@orra-studio/sdk";

import { seedServices } from "./seed.mjs";

const services = seedServices(["ai-assistant-service"]);
closeOnSignals(services);
await Promise.all(services.map((service) => service.start()));
