// Services that misbehave on purpose, written with the TypeScript SDK (@orra-studio/sdk), for
// its integration tests: the same names and behaviour as faulty_services.py (orra_sdk).
//
//   node ts_faulty_services.mjs URL KEY KIND[,KIND…]
//
// - flaky: flaky-echo fails the first FAIL_TIMES calls for each text, then echoes;
// - saga: reserve-stock and charge-card (revertible; each revert appends to REVERT_LOG) and
//   ship-order, which fails on mode "fail", aborts on "abort", and on "slow" waits SHIP_DELAY
//   seconds or until its signal is aborted (noting "started" and "cancelled" in REVERT_LOG);
// - worker: slow-worker notes "<pid> start <job>" in WORK_LOG, takes WORK_DELAY seconds (or,
//   with WORK_UNTIL, until that file exists), then notes "<pid> done <job>" (ID_FILE keeps its
//   id across restarts);
// - badout: bad-output returns what its output schema forbids.
import { appendFileSync, existsSync } from "node:fs";

import { closeOnSignals, Service, z } from "../../sdk/typescript/dist/esm/index.js";

const [url, apiKey, kinds = ""] = process.argv.slice(2);
const note = (variable, line) => {
  if (process.env[variable]) appendFileSync(process.env[variable], `${line}\n`);
};
const sleep = (seconds, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
const until = (path, signal) =>
  new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(path)) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    signal?.addEventListener("abort", () => {
      clearInterval(timer);
      reject(signal.reason);
    });
  });
const at = { url, apiKey };

const KINDS = {
  flaky() {
    const calls = new Map();
    const failTimes = Number(process.env.FAIL_TIMES ?? 2);
    return [
      new Service({
        ...at,
        name: "flaky-echo",
        description: "Echoes text, but fails at first",
        policy: { maxAttempts: 4, initialDelaySeconds: 0.05 },
        input: z.object({ text: z.string() }),
        output: z.object({ echo: z.string(), calls: z.number() }),
        handler: ({ text }) => {
          calls.set(text, (calls.get(text) ?? 0) + 1);
          if (calls.get(text) <= failTimes) throw new Error(`transient failure ${calls.get(text)}`);
          return { echo: text, calls: calls.get(text) };
        },
      }),
    ];
  },
  saga() {
    return [
      new Service({
        ...at,
        name: "reserve-stock",
        description: "Reserves stock for an order",
        concurrency: 8,
        input: z.object({ orderId: z.string() }),
        output: z.object({ reservationId: z.string() }),
        handler: ({ orderId }) => ({ reservationId: `r-${orderId}` }),
        revert: (original, _output, context) => {
          note("REVERT_LOG", `reserve-stock ${original.orderId} ${context?.reason}`);
          return { status: "completed" };
        },
      }),
      new Service({
        ...at,
        name: "charge-card",
        description: "Charges the customer's card for an order",
        concurrency: 8,
        input: z.object({ orderId: z.string(), reservationId: z.string() }),
        output: z.object({ chargeId: z.string() }),
        handler: ({ orderId }) => ({ chargeId: `c-${orderId}` }),
        revert: (original, _output, context) => {
          note("REVERT_LOG", `charge-card ${original.orderId} ${context?.reason}`);
          return { status: "partial", partial: { completed: ["refund"], remaining: ["fee"] } };
        },
      }),
      new Service({
        ...at,
        name: "ship-order",
        description: "Ships an order",
        concurrency: 8,
        input: z.object({ orderId: z.string(), chargeId: z.string(), mode: z.string() }),
        output: z.object({ trackingId: z.string() }),
        handler: async ({ orderId, mode }, task) => {
          if (mode === "fail") throw new Error("no courier available");
          if (mode === "abort") task.abort({ reason: "address is on a sanctions list" });
          if (mode === "slow") {
            note("REVERT_LOG", `ship-order ${orderId} started`);
            try {
              await sleep(Number(process.env.SHIP_DELAY ?? 30), task.signal);
            } catch (error) {
              note("REVERT_LOG", `ship-order ${orderId} cancelled`);
              throw error;
            }
          }
          return { trackingId: `t-${orderId}` };
        },
      }),
    ];
  },
  worker() {
    return [
      new Service({
        ...at,
        name: "slow-worker",
        description: "Does slow work on a job",
        concurrency: Number(process.env.WORK_CONCURRENCY ?? 4),
        idFile: process.env.ID_FILE || undefined,
        input: z.object({ job: z.string() }),
        output: z.object({ job: z.string(), pid: z.number() }),
        handler: async ({ job }, task) => {
          note("WORK_LOG", `${process.pid} start ${job}`);
          task.interim({ progress: 50, job });
          if (process.env.WORK_UNTIL) await until(process.env.WORK_UNTIL, task.signal);
          else await sleep(Number(process.env.WORK_DELAY ?? 3), task.signal);
          note("WORK_LOG", `${process.pid} done ${job}`);
          return { job, pid: process.pid };
        },
      }),
    ];
  },
  badout() {
    return [
      new Service({
        ...at,
        name: "bad-output",
        description: "Returns a balance that its schema forbids",
        input: { type: "object", fields: [{ name: "account", type: "string" }], required: ["account"] },
        output: { type: "object", fields: [{ name: "balance", type: "number", minimum: 0 }], required: ["balance"] },
        handler: () => ({ balance: -5 }),
      }),
    ];
  },
};

const services = kinds.split(",").flatMap((kind) => KINDS[kind]());
closeOnSignals(services);
await Promise.all(services.map((service) => service.start()));
