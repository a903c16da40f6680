// One seed service: ORRA_URL=http://localhost:8005 ORRA_API_KEY=sk-orra-… node examples/product-catalog-service.mjs
import { closeOnSignals } from "@orra-studio/sdk";

import { seedServices } from "./seed.mjs";

const services = seedServices(["product-catalog-service"]);
closeOnSignals(services);
await Promise.all(services.map((service) => service.start()));
