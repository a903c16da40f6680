/** RFC 1123 service names, checked with the control plane's own rules and wording. */

import { InvalidServiceName, OrraError } from "./errors.js";

export const MAX_NAME = 253;
export const MAX_DESCRIPTION = 500;
const ALLOWED = /^[a-z0-9.-]$/;

/** A name that passes every rule and looks like `name` (`My Echo` → `my-echo`), or null. */
export function suggestName(name: string): string | null {
  let lowered = name.toLowerCase().replace(/[^a-z0-9.]+/g, "-");
  lowered = lowered.replace(/[-.]*\.[-.]*/g, ".").replace(/^[-.]+|[-.]+$/g, "");
  lowered = lowered.slice(0, MAX_NAME).replace(/[-.]+$/g, "");
  return lowered || null;
}

/** Throws {@link InvalidServiceName} naming the rule that `name` breaks. */
export function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !name) {
    throw new InvalidServiceName("name must not be empty (RFC 1123)");
  }
  if (name.length > MAX_NAME) {
    throw new InvalidServiceName(
      `name is ${name.length} characters; RFC 1123 allows at most ${MAX_NAME}`,
    );
  }
  const hint = suggestName(name);
  const tail = hint ? ` — try '${hint}'` : "";
  const bad = [...new Set([...name].filter((c) => !ALLOWED.test(c)))].sort();
  if (bad.length) {
    const shown = bad
      .slice(0, 5)
      .map((c) => `'${c}'`)
      .join(", ");
    throw new InvalidServiceName(
      `name may contain only lowercase letters, digits, '-' or '.' (RFC 1123); found ${shown}${tail}`,
    );
  }
  if (!/^[a-z0-9]/.test(name)) {
    throw new InvalidServiceName(`name must start with a lowercase letter or digit (RFC 1123)${tail}`);
  }
  if (!/[a-z0-9]$/.test(name)) {
    throw new InvalidServiceName(`name must end with a lowercase letter or digit (RFC 1123)${tail}`);
  }
}

/** Throws when the description is missing or longer than the control plane accepts. */
export function checkDescription(description: unknown): asserts description is string {
  if (typeof description !== "string" || !description.trim()) {
    throw new OrraError(
      "description is required: say in a sentence or two what the service does (the planner reads it)",
      "invalid_description",
    );
  }
  if (description.length > MAX_DESCRIPTION) {
    throw new OrraError(
      `description is ${description.length} characters; keep it to at most ${MAX_DESCRIPTION}`,
      "invalid_description",
    );
  }
}
