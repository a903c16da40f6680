// The orra README's four seed services (customer inquiry) with the typed API and zod schemas.
// Shared by the one-per-file examples and seed-services.mjs.
import { z } from "zod";

import { Service } from "@orra-studio/sdk";

const Profile = z.record(z.string(), z.unknown());
const Products = z.array(z.record(z.string(), z.unknown()));

const PRODUCT = {
  id: "prod001",
  name: "Premium Analytics Suite",
  features: ["Real-time processing", "AI-driven insights", "CRM integration"],
};

/** Service options for each seed service, by name (`noop`: trivial outputs, for benchmarks). */
export function seedDefinitions({ noop = false } = {}) {
  return {
    "customer-data-service": {
      description: "Retrieves a customer's profile (name, company, industry) by customer id.",
      input: z.object({ customerId: z.string() }),
      output: z.object({ customerProfile: Profile }),
      handler: ({ customerId }) => ({
        customerProfile: noop
          ? { id: customerId }
          : { id: customerId, name: "Jane Doe", company: "TechCorp Inc.", industry: "Software" },
      }),
    },
    "product-catalog-service": {
      description:
        "Finds products in the catalog that are relevant to a customer inquiry, with their features.",
      input: z.object({ inquiry: z.string() }),
      output: z.object({ relevantProducts: Products }),
      handler: () => ({ relevantProducts: [PRODUCT] }),
    },
    "seller-data-service": {
      description: "Retrieves a seller's profile (name, department) by seller id.",
      input: z.object({ sellerId: z.string() }),
      output: z.object({ sellerProfile: Profile }),
      handler: ({ sellerId }) => ({
        sellerProfile: noop ? { id: sellerId } : { id: sellerId, name: "John Smith", department: "Enterprise Sales" },
      }),
    },
    "ai-assistant-service": {
      description:
        "Composes a reply to a customer inquiry from the customer's profile, the relevant products and the seller's profile.",
      input: z.object({
        customerProfile: Profile,
        relevantProducts: Products,
        sellerProfile: Profile,
        inquiry: z.string(),
      }),
      output: z.object({ content: z.string(), sentTimestamp: z.string() }),
      handler: ({ customerProfile, relevantProducts, sellerProfile }) => {
        const product = relevantProducts[0] ?? PRODUCT;
        const who = String(customerProfile.name ?? "there").split(" ")[0];
        const seller = sellerProfile.name ?? "our team";
        const features = (product.features ?? []).map((f) => String(f).toLowerCase()).join(", ");
        return {
          content: noop
            ? "ok"
            : `Hi ${who}, thank you for your interest! Based on your inquiry, I'd recommend our ${product.name}, which offers ${features}. ${seller} would be happy to schedule a demo to show these features in action.`,
          sentTimestamp: new Date().toISOString(),
        };
      },
    },
  };
}

/** The named seed services (all four by default), connected to `url` with `apiKey`. */
export function seedServices(names, { url, apiKey, noop = false, concurrency = 1 } = {}) {
  const definitions = seedDefinitions({ noop });
  const chosen = names?.length ? names : Object.keys(definitions);
  return chosen.map((name) => {
    if (!(name in definitions)) {
      throw new Error(`no seed service named ${name}; choose from ${Object.keys(definitions).join(", ")}`);
    }
    return new Service({ name, url, apiKey, concurrency, ...definitions[name] });
  });
}
