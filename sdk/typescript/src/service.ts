/**
 * A service or agent: register it, hold its websocket, run its handler for each task.
 *
 * It behaves as the Python `orra_sdk` does (shared/protocol.md is the contract): it reconnects
 * forever with capped, jittered backoff (so it may start before the control plane does),
 * re-sends what was never ACKed, answers a task it already finished from its result cache,
 * says `in_progress` for a duplicate of one still running, runs at most `concurrency`
 * handlers at once, aborts a handler's `signal` on `task_cancel`, runs the revert handler on
 * compensation, and on `close()` finishes what it holds. It installs no signal handlers and
 * touches no global state (see `closeOnSignals` for a helper that does, when asked).
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import WebSocket from "ws";

import { backoffDelay } from "./backoff.js";
import { ResultCache } from "./cache.js";
import {
  byteLength,
  type CompensationContext,
  type CompensationRequest,
  decode,
  ENVELOPE,
  envelope,
  MAX_FRAME,
  pong,
  type ReplyHeader,
  replyHeader,
  type TaskRequest,
} from "./codec.js";
import {
  AuthError,
  ConfigError,
  ConnectionError,
  InvalidServiceName,
  OrraError,
  OutputError,
  RegistrationError,
  TaskAborted,
} from "./errors.js";
import { consoleLogger, type Logger, silentLogger } from "./logger.js";
import { checkDescription, checkName } from "./names.js";
import {
  type Check,
  checkerFor,
  type InputOf,
  type JsonSchema,
  type OutputOf,
  parsed,
  type SchemaLike,
  toJsonSchema,
} from "./schema.js";
import { Slots } from "./slots.js";
import { CompensationStatus, ControlFrame, ServiceFrame, TaskProgress } from "./vocabulary.js";

/** What a handler gets besides its input. */
export interface TaskContext {
  /** the step id (`step1`…) */
  id: string;
  executionId: string;
  /** the same for every attempt of this step with this input */
  idempotencyKey: string;
  /** aborted when the control plane no longer needs the result (`task_cancel`) */
  signal: AbortSignal;
  /** send a progress update (recorded by the control plane as an interim result) */
  interim(update: unknown): void;
  /** abort the whole orchestration with `payload` (it is compensated); never returns */
  abort(payload?: unknown): never;
}

/** What a revert handler may return; nothing at all means `{status: "completed"}`. */
export type RevertOutcome =
  | { status: (typeof CompensationStatus)["COMPLETED" | "FAILED" | "EXPIRED"]; error?: string | null }
  | { status: "partial"; partial: { completed: string[]; remaining: string[] } };

/** Timeout and retry defaults for this service's steps (each field optional). */
export interface Policy {
  timeoutSeconds?: number;
  maxAttempts?: number;
  initialDelaySeconds?: number;
  backoffMultiplier?: number;
  maxDelaySeconds?: number;
}

export interface ServiceOptions<I extends SchemaLike | undefined, O extends SchemaLike | undefined> {
  /** an RFC 1123 name: lowercase letters, digits, '-' and '.', at most 253 characters */
  name: string;
  /** what it does, for the planner (at most 500 characters) */
  description: string;
  /** the control plane (default: `ORRA_URL`, else http://localhost:8005) */
  url?: string;
  /** a project API key (default: `ORRA_API_KEY`); sent in a header, never in a URL */
  apiKey?: string;
  /** JSON Schema, the README's `{type, fields}` style or a zod schema */
  input?: I;
  output?: O;
  handler: (input: InputOf<I>, task: TaskContext) => OutputOf<O> | Promise<OutputOf<O>>;
  /** undo a completed task when its orchestration fails; makes the service revertible */
  revert?: (
    input: InputOf<I>,
    output: OutputOf<O>,
    context: CompensationContext | undefined,
  ) => RevertOutcome | undefined | void | Promise<RevertOutcome | undefined | void>;
  /** how long a completed task can still be reverted (ms, default one day) */
  revertTtlMs?: number;
  policy?: Policy;
  /** every task waits for a person's approval before the control plane sends it */
  requiresApproval?: boolean;
  /** handlers running at once (default 1, as in `orra_sdk`) */
  concurrency?: number;
  /** keep the service id in this JSON file across restarts (the control plane also finds a
   * service again by its name) */
  idFile?: string;
  /** the longest wait between reconnect attempts (ms, default 30 s) */
  maxBackoffMs?: number;
  /** a logger, or `false` for none (default: lines on stderr from "info" up) */
  logger?: Logger | false;
}

type Answer = { result: unknown; error: string | null };
type Outcome = Answer | { aborted: true };
type Payload = Record<string, unknown> & { type: string; executionId?: string };

const isAnswer = (outcome: Outcome): outcome is Answer => !("aborted" in outcome);

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => {}); // a rejection nobody awaits is not an unhandled one
  return { promise, resolve, reject };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message;
    return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
  }
  return String(error);
}

export class Service<
  I extends SchemaLike | undefined = undefined,
  O extends SchemaLike | undefined = undefined,
> {
  readonly kind: "service" | "agent" = "service";
  readonly name: string;
  readonly description: string;
  readonly url: string;
  readonly revertible: boolean;
  readonly concurrency: number;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  /** the control plane's id for it, once registered (kept across restarts) */
  id: string | undefined;
  /** the registration's version (the control plane counts them) */
  version: number | undefined;
  /** tasks answered since start */
  tasksHandled = 0;

  private readonly options: ServiceOptions<I, O>;
  private readonly apiKey: string;
  private readonly log: Logger;
  private readonly checkInput: Check;
  private readonly checkOutput: Check;
  private readonly results = new ResultCache<Outcome>();
  private readonly running = new Map<string, AbortController>();
  private readonly unacked = new Map<string, Payload>();
  private outbox: Payload[] = [];
  private readonly slots: Slots;
  private ws: WebSocket | undefined;
  private connected = false;
  private messageNumber = 0;
  private closing = false;
  private loopDone: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private registered = deferred();
  private connectedWaiters: Deferred[] = [];
  private drainWaiters: Array<() => void> = [];
  private wake: (() => void) | undefined;
  private lastProblem = "";

  constructor(options: ServiceOptions<I, O>) {
    checkName(options.name);
    checkDescription(options.description);
    if (typeof options.handler !== "function") {
      throw new ConfigError(`${options.name}: 'handler' must be a function (input, task) => output`);
    }
    const url = (options.url ?? process.env.ORRA_URL ?? "http://localhost:8005").replace(/\/+$/, "");
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(url);
    } catch {
      throw new ConfigError(`url ${JSON.stringify(url)} is not a URL; use e.g. http://localhost:8005`);
    }
    if (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:") {
      throw new ConfigError(`url must start with http:// or https://, not ${parsedUrl.protocol}//`);
    }
    const apiKey = options.apiKey ?? process.env.ORRA_API_KEY;
    if (!apiKey) {
      throw new ConfigError(`${options.name}: an API key is required (apiKey, or ORRA_API_KEY)`);
    }
    this.options = options;
    this.name = options.name;
    this.description = options.description;
    this.url = url;
    this.apiKey = apiKey;
    this.revertible = Boolean(options.revert);
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.slots = new Slots(this.concurrency);
    this.inputSchema = toJsonSchema(options.input, "input");
    this.outputSchema = toJsonSchema(options.output, "output");
    this.checkInput = checkerFor(options.input, "input");
    this.checkOutput = checkerFor(options.output, "output");
    this.log = options.logger === false ? silentLogger : (options.logger ?? consoleLogger());
  }

  // -- lifecycle ---------------------------------------------------------------------------

  /**
   * Register and start serving. Resolves once registered (waiting, and retrying, while the
   * control plane is unreachable); rejects with a {@link RegistrationError} (a refused key, a
   * name or schema the control plane refuses) that retrying would not fix.
   */
  async start(): Promise<this> {
    if (this.closing) throw new OrraError(`${this.name}: closed; create a new one`, "closed");
    this.loopDone ??= this.loop();
    await this.registered.promise;
    return this;
  }

  /** Resolves once the websocket is open; rejects after `timeoutMs` saying why it is not. */
  async waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.connected) return;
    const waiter = deferred();
    this.connectedWaiters.push(waiter);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = this.lastProblem || "no answer yet";
        reject(new ConnectionError(`${this.name}: not connected to ${this.url} after ${timeoutMs} ms: ${why}`));
      }, timeoutMs);
    });
    try {
      await Promise.race([waiter.promise, timeout]);
    } finally {
      clearTimeout(timer);
      this.connectedWaiters = this.connectedWaiters.filter((w) => w !== waiter);
    }
  }

  /**
   * Stop taking tasks, finish the ones running and wait for the control plane to acknowledge
   * their results (up to `timeoutMs`), then close the socket.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed ??= this.shutDown(options.timeoutMs ?? 30_000);
    return this.closed;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    this.closing = true;
    const drained = await this.drained(timeoutMs);
    if (!drained) {
      this.log.warn(
        `${this.name}: closing with ${this.running.size} task(s) running and ${this.unacked.size} result(s) not acknowledged`,
      );
    }
    for (const controller of this.running.values()) controller.abort(new Error("the service is closing"));
    const closedError = new OrraError(`${this.name}: closed`, "closed");
    this.registered.reject(closedError);
    for (const waiter of this.connectedWaiters) waiter.reject(closedError);
    this.wake?.();
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2_000);
        ws.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close(1000, "service closing");
      });
    }
    await this.loopDone;
    this.log.info(`${this.name}: closed after ${this.tasksHandled} task(s)`);
  }

  private drained(timeoutMs: number): Promise<boolean> {
    if (this.isDrained()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private isDrained(): boolean {
    return this.running.size === 0 && this.unacked.size === 0 && this.outbox.length === 0;
  }

  private checkDrained(): void {
    if (this.closing && this.isDrained()) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  // -- registering and connecting ----------------------------------------------------------

  private async loop(): Promise<void> {
    let attempt = 0;
    while (!this.closing) {
      try {
        if (this.id === undefined || this.version === undefined) {
          await this.register();
          this.registered.resolve();
        }
        if (this.closing) break;
        if (await this.serveConnection()) attempt = 0;
      } catch (error) {
        if (error instanceof RegistrationError) {
          this.log.error(error.message);
          this.registered.reject(error);
          for (const waiter of this.connectedWaiters) waiter.reject(error);
          return;
        }
        this.lastProblem = messageOf(error);
      }
      if (this.closing) break;
      attempt += 1;
      const delay = backoffDelay(attempt, { maxMs: this.options.maxBackoffMs ?? 30_000 });
      this.log.info(`${this.name}: ${this.lastProblem}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** `POST /register/{kind}`; remembers the id (and saves it when `idFile` is set). */
  private async register(): Promise<void> {
    const known = this.id ?? (await this.loadId());
    const body: Record<string, unknown> = {
      id: known ?? null,
      name: this.name,
      description: this.description,
      schema: { input: this.inputSchema, output: this.outputSchema },
      version: this.version ?? 0,
      revertible: this.revertible,
    };
    if (this.options.policy) body.policy = this.options.policy;
    if (this.options.requiresApproval) body.requiresApproval = true;
    let response: Response;
    try {
      response = await fetch(`${this.url}/register/${this.kind}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.apiKey}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new ConnectionError(`cannot reach the control plane at ${this.url}: ${messageOf(error)}`);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new ConnectionError(`the control plane at ${this.url} answered HTTP ${response.status}`);
    }
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const error = (answer.error ?? {}) as { code?: string; message?: string };
      const said = error.message ?? `HTTP ${response.status}`;
      if (response.status === 401 || response.status === 403) {
        throw new AuthError(
          `${this.name}: the control plane at ${this.url} refused the API key: ${said}. Use a key of this project (apiKey or ORRA_API_KEY)`,
        );
      }
      if (error.code === "invalid_service_name") throw new InvalidServiceName(`${this.name}: ${said}`);
      if (response.status === 404 && !error.code) {
        throw new RegistrationError(
          `${this.url}/register/${this.kind} is not there (HTTP 404): is ${this.url} the control plane's URL?`,
          "registration_refused",
        );
      }
      throw new RegistrationError(`${this.name}: registration refused: ${said}`, error.code ?? "registration_refused");
    }
    this.id = String(answer.id);
    this.version = Number(answer.version);
    this.log.info(`${this.name}: registered as ${this.id} (version ${this.version})`);
    for (const warning of (answer.warnings as string[] | undefined) ?? []) {
      this.log.warn(`${this.name}: ${warning}`);
    }
    await this.saveId();
  }

  private async loadId(): Promise<string | undefined> {
    if (!this.options.idFile) return undefined;
    try {
      const saved = JSON.parse(await readFile(this.options.idFile, "utf8")) as { id?: unknown };
      return typeof saved.id === "string" ? saved.id : undefined;
    } catch {
      return undefined; // none yet (or unreadable): the control plane finds it by name
    }
  }

  private async saveId(): Promise<void> {
    if (!this.options.idFile || !this.id) return;
    await mkdir(path.dirname(this.options.idFile), { recursive: true });
    await writeFile(this.options.idFile, JSON.stringify({ id: this.id }), "utf8");
  }

  /** One websocket's life: resolves true when it had opened, rejects when it never did. */
  private serveConnection(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const wsUrl = `${this.url.replace(/^http/, "ws")}/ws?serviceId=${encodeURIComponent(this.id ?? "")}`;
      // the key goes in a header, never in the URL (proxies log URLs); the capacity says how
      // many tasks run here at once: the control plane keeps the rest, their timeouts not
      // yet running, instead of queueing them in this process
      const ws = new WebSocket(wsUrl, {
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          "x-orra-capacity": String(this.concurrency),
        },
        maxPayload: MAX_FRAME,
        perMessageDeflate: false,
        handshakeTimeout: 30_000,
      });
      this.ws = ws;
      let opened = false;
      let alive = true;
      let heartbeat: NodeJS.Timeout | undefined;
      let lastError: Error | undefined;
      ws.on("open", () => {
        opened = true;
        this.connected = true;
        this.lastProblem = "";
        this.log.info(`${this.name}: connected to ${this.url}`);
        for (const waiter of this.connectedWaiters) waiter.resolve();
        this.connectedWaiters = [];
        // whatever was never ACKed goes again, with new message ids (the server dedupes)
        const backlog = [...this.unacked.values(), ...this.outbox];
        this.unacked.clear();
        this.outbox = [];
        for (const payload of backlog) this.send(payload);
        heartbeat = setInterval(() => {
          if (!alive) {
            ws.terminate(); // no pong for a whole interval: the connection is dead
            return;
          }
          alive = false;
          ws.ping();
        }, 20_000);
        heartbeat.unref();
      });
      ws.on("pong", () => {
        alive = true;
      });
      ws.on("message", (data) => this.onFrame(data.toString()));
      ws.on("error", (error) => {
        lastError = error;
      });
      ws.on("close", (code) => {
        clearInterval(heartbeat);
        this.connected = false;
        if (this.ws === ws) this.ws = undefined;
        if (opened) {
          this.lastProblem = `the connection to ${this.url} closed (code ${code})`;
          if (!this.closing) this.log.warn(`${this.name}: ${this.lastProblem}`);
          resolve(true);
          return;
        }
        const refused = /Unexpected server response: (\d+)/.exec(lastError?.message ?? "");
        if (refused?.[1] === "403") this.version = undefined; // our id is unknown here: register again
        reject(
          new ConnectionError(
            refused
              ? `the control plane refused the websocket (HTTP ${refused[1]})`
              : `cannot reach the control plane at ${this.url}: ${lastError ? messageOf(lastError) : `closed (code ${code})`}`,
          ),
        );
      });
    });
  }

  // -- messages ----------------------------------------------------------------------------

  private onFrame(text: string): void {
    const message = decode(text);
    if (!message) {
      this.log.debug(`${this.name}: ignored a frame it does not understand`);
      return;
    }
    switch (message.type) {
      case ControlFrame.PING:
        if (!message.serviceId || message.serviceId === this.id) this.rawSend(pong(this.id ?? ""));
        break;
      case ControlFrame.ACK:
        this.unacked.delete(message.id);
        this.checkDrained();
        break;
      case ControlFrame.TASK_REQUEST:
        this.onTask(message).catch((error) => this.log.error(`${this.name}: ${messageOf(error)}`));
        break;
      case ControlFrame.COMPENSATION_REQUEST:
        this.onCompensation(message).catch((error) => this.log.error(`${this.name}: ${messageOf(error)}`));
        break;
      case ControlFrame.TASK_CANCEL:
        this.running.get(message.idempotencyKey)?.abort(new Error("the orchestration no longer needs this task"));
        break;
    }
  }

  private async onTask(request: TaskRequest): Promise<void> {
    const key = request.idempotencyKey;
    const base = replyHeader(request, this.id ?? "");
    const cached = this.results.get(key);
    if (cached) {
      if (isAnswer(cached)) this.send({ ...base, type: ServiceFrame.TASK_RESULT, ...cached });
      return;
    }
    if (this.running.has(key)) {
      this.log.debug(`${this.name}: task ${request.id} of ${request.executionId} sent again while running: in_progress`);
      this.send({ ...base, type: ServiceFrame.TASK_STATUS, status: TaskProgress.IN_PROGRESS });
      return;
    }
    if (this.closing) return; // once the socket closes the control plane sends it elsewhere
    const controller = new AbortController();
    this.running.set(key, controller);
    let outcome: Outcome | undefined;
    try {
      await this.slots.take();
      try {
        if (!controller.signal.aborted) outcome = await this.callHandler(request, base, controller.signal);
      } finally {
        this.slots.give();
      }
    } finally {
      this.running.delete(key);
    }
    if (outcome === undefined || controller.signal.aborted) {
      this.log.info(`${this.name}: task ${request.id} of ${request.executionId} cancelled by the control plane`);
      this.checkDrained();
      return;
    }
    if (!isAnswer(outcome) || outcome.error === null) this.results.set(key, outcome); // errors: retried
    if (isAnswer(outcome)) this.send({ ...base, type: ServiceFrame.TASK_RESULT, ...outcome });
    this.tasksHandled += 1;
    this.checkDrained();
  }

  private async callHandler(request: TaskRequest, base: ReplyHeader, signal: AbortSignal): Promise<Outcome> {
    const raw = request.input;
    const problem = this.checkInput(raw);
    if (problem) return { result: null, error: `Input validation failed: ${problem}` };
    const context: TaskContext = {
      id: request.id,
      executionId: request.executionId,
      idempotencyKey: request.idempotencyKey,
      signal,
      interim: (update) => this.send({ ...base, type: ServiceFrame.TASK_INTERIM_RESULT, result: { task: update ?? null } }),
      abort: (payload) => {
        throw new TaskAborted(payload);
      },
    };
    let output: unknown;
    try {
      output = await this.options.handler(parsed(this.options.input, raw) as InputOf<I>, context);
      const mismatch = this.checkOutput(output);
      if (mismatch) {
        throw new OutputError(`the handler's output does not match the output schema: ${mismatch}`);
      }
      output = output === undefined ? null : JSON.parse(JSON.stringify(output));
    } catch (error) {
      if (error instanceof TaskAborted) {
        this.send({ ...base, type: ServiceFrame.TASK_ABORT_RESULT, result: { task: error.payload ?? null } });
        return { aborted: true };
      }
      const name = error instanceof Error ? error.name : "Error";
      this.log.warn(`${this.name}: the handler failed on task ${request.id}: ${name}: ${messageOf(error)}`);
      return { result: null, error: `Service error: ${messageOf(error)}` };
    }
    const compensation = this.revertible
      ? { data: { originalTask: raw, taskResult: output }, ttl: this.options.revertTtlMs ?? 24 * 3600 * 1000 }
      : null;
    return { result: { task: output, compensation }, error: null };
  }

  private async onCompensation(request: CompensationRequest): Promise<void> {
    const key = request.idempotencyKey;
    const base = replyHeader(request, this.id ?? "");
    const cached = this.results.get(key);
    if (cached && isAnswer(cached)) {
      this.send({ ...base, type: ServiceFrame.TASK_RESULT, ...cached });
      return;
    }
    const revert = this.options.revert;
    if (!revert) return;
    let answer: Answer;
    try {
      const data = request.input;
      const outcome = await revert(
        data.originalTask as InputOf<I>,
        data.taskResult as OutputOf<O>,
        request.compensationContext,
      );
      answer = { result: outcome ?? { status: CompensationStatus.COMPLETED }, error: null };
    } catch (error) {
      answer = { result: null, error: `Revert error: ${messageOf(error)}` };
    }
    if (answer.error === null) this.results.set(key, answer);
    this.send({ ...base, type: ServiceFrame.TASK_RESULT, ...answer });
  }

  /** `payload` if it fits in a frame; else a task error saying so (undefined: drop it). */
  private fit(payload: Payload): Payload | undefined {
    const size = byteLength(JSON.stringify(payload));
    const limit = MAX_FRAME - ENVELOPE;
    if (size <= limit) return payload;
    const problem = `the ${payload.type} is ${size} bytes as JSON; at most ${limit} fit in one message to the control plane. Return less (e.g. a reference to the data)`;
    this.log.error(`${this.name}: ${problem}`);
    if (payload.type !== ServiceFrame.TASK_RESULT) return undefined; // an interim or abort update: dropped
    this.results.delete(String(payload.idempotencyKey ?? ""));
    return { ...payload, result: null, error: `Service error: ${problem}` };
  }

  /** Send expecting an ACK; kept (and re-sent after a reconnect) until the ACK comes. */
  private send(payload: Payload): void {
    const fitted = this.fit(payload);
    if (!fitted) return;
    const ws = this.ws;
    if (!ws || !this.connected) {
      this.outbox.push(fitted);
      return;
    }
    this.messageNumber += 1;
    const id = `msg_${this.messageNumber}_${fitted.executionId ?? ""}`;
    this.unacked.set(id, fitted);
    ws.send(envelope(id, fitted), () => {}); // a failed send stays unacked: re-sent on reconnect
  }

  private rawSend(text: string): void {
    if (this.ws && this.connected) this.ws.send(text, () => {});
  }
}

/** An agent: the same as a service, registered as one (the planner may tell them apart). */
export class Agent<
  I extends SchemaLike | undefined = undefined,
  O extends SchemaLike | undefined = undefined,
> extends Service<I, O> {
  override readonly kind = "agent" as const;
}

/** Anything with a `close()`: services, agents, a `createClient` client. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Close `services` gracefully on SIGINT/SIGTERM, then exit. Opt-in: the SDK installs no signal
 * handlers by itself. Returns a function that removes them.
 */
export function closeOnSignals(
  services: Closable[],
  options: { signals?: NodeJS.Signals[]; exit?: boolean } = {},
): () => void {
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  const onSignal = (): void => {
    Promise.allSettled(services.map((service) => service.close())).finally(() => {
      if (options.exit ?? true) process.exit(0);
    });
  };
  for (const signal of signals) process.once(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
