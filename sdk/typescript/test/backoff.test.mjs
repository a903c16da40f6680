import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay } from "@orra-studio/sdk";

test("the delay doubles from 250 ms and stops at the cap", () => {
  const full = () => 0.999999; // jitter factor ≈ 1
  const delays = [1, 2, 3, 4, 10, 20].map((n) => Math.round(backoffDelay(n, { random: full })));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 30000, 30000]);
  assert.equal(Math.round(backoffDelay(30, { maxMs: 5000, random: full })), 5000);
});

test("jitter keeps every delay between half and all of the base", () => {
  assert.equal(backoffDelay(2, { random: () => 0 }), 500);
  for (let i = 0; i < 200; i += 1) {
    const delay = backoffDelay(3);
    assert.ok(delay >= 1000 && delay < 2000, `${delay}`);
  }
});
