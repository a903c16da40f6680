import assert from "node:assert/strict";
import { test } from "node:test";

import { decode } from "@orra-studio/sdk";

test("the control plane's messages are read", () => {
  assert.deepEqual(decode('{"type":"ping","serviceId":"s_1"}'), { type: "ping", serviceId: "s_1" });
  assert.deepEqual(decode('{"type":"ACK","id":"msg_1_e"}'), { type: "ACK", id: "msg_1_e" });
  const task = decode(
    '{"type":"task_request","id":"step1","input":{"a":1},"executionId":"e_1","idempotencyKey":"k","serviceId":"s_1"}',
  );
  assert.equal(task.type, "task_request");
  assert.deepEqual(task.input, { a: 1 });
  assert.equal(task.idempotencyKey, "k");
  assert.deepEqual(decode('{"type":"task_cancel","idempotencyKey":"k"}'), { type: "task_cancel", idempotencyKey: "k" });
  const compensation = decode(
    '{"type":"compensation_request","id":"step1","input":{"originalTask":{"a":1},"taskResult":{"b":2}},' +
      '"compensationContext":{"orchestrationId":"o_1","reason":"failed","payload":null,"timestamp":"t"},' +
      '"executionId":"e_2","idempotencyKey":"k2"}',
  );
  assert.equal(compensation.compensationContext.reason, "failed");
});

test("what it cannot read is ignored, not thrown", () => {
  for (const frame of ["not json", "[1,2]", "null", '{"type":"surprise"}', '{"type":"task_request","id":"x"}', '{"type":"ACK"}']) {
    assert.equal(decode(frame), undefined, frame);
  }
  // an input that is not an object becomes an empty one (the input check then says why)
  assert.deepEqual(decode('{"type":"task_request","id":"s","idempotencyKey":"k","input":[1]}').input, {});
});
