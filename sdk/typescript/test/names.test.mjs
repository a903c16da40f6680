import assert from "node:assert/strict";
import { test } from "node:test";

import { checkDescription, checkName, InvalidServiceName, OrraError, suggestName } from "@orra-studio/sdk";

test("RFC 1123 names pass; others name the rule and suggest a name", () => {
  for (const good of ["customer-data-service", "a", "svc.v2", "x".repeat(253)]) checkName(good);
  const cases = [
    ["", /must not be empty/],
    ["x".repeat(254), /254 characters/],
    ["CustomerAccountService", /found 'A', 'C', 'S'.*try 'customeraccountservice'/],
    ["-echo", /must start with/],
    ["echo-", /must end with/],
  ];
  for (const [name, message] of cases) {
    assert.throws(
      () => checkName(name),
      (error) => error instanceof InvalidServiceName && error.code === "invalid_service_name" && message.test(error.message),
      name,
    );
  }
  assert.equal(suggestName("My Echo Service!"), "my-echo-service");
  assert.equal(suggestName("!!!"), null);
});

test("a description is required and at most 500 characters", () => {
  checkDescription("Retrieves a customer");
  assert.throws(() => checkDescription("x".repeat(501)), (e) => e instanceof OrraError && /501 characters/.test(e.message));
  assert.throws(() => checkDescription("  "), /description is required/);
});
