import assert from "node:assert/strict";
import { test } from "node:test";

import { ResultCache } from "@orra-studio/sdk";

test("a result is found by its key until its time is up", () => {
  let now = 0;
  const cache = new ResultCache({ ttlMs: 1000, now: () => now });
  cache.set("k1", { result: { task: 1 }, error: null });
  now = 999;
  assert.deepEqual(cache.get("k1"), { result: { task: 1 }, error: null });
  now = 1001;
  assert.equal(cache.get("k1"), undefined);
  assert.equal(cache.size, 0);
});

test("past its size the least recently stored entry goes first", () => {
  const cache = new ResultCache({ maxEntries: 2 });
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("a", 3); // stored again: now the newest
  cache.set("c", 4);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a"), 3);
  assert.equal(cache.get("c"), 4);
});
