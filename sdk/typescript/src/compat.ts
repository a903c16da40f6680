/**
 * The original orra README's JavaScript shape, on top of {@link Service}:
 *
 * ```js
 * const orraClient = createClient({ orraUrl: process.env.ORRA_URL, orraKey: process.env.ORRA_API_KEY });
 * await orraClient.registerService('customer-account-service', { description, schema, taskHandler, version: '1.0.0' });
 * ```
 *
 * The task handler gets the task as the original SDK passed it (`task.input`, `task.id`,
 * `task.executionId`, `task.idempotencyKey`), plus `task.signal`, `task.interim(update)` and
 * `task.abort(payload)`. A name that breaks RFC 1123 (the README's own example is
 * `CustomerAccountService`) is registered under the closest name that passes, with a warning.
 */

import path from "node:path";

import { InvalidServiceName } from "./errors.js";
import { consoleLogger, type Logger, silentLogger } from "./logger.js";
import { checkName, suggestName } from "./names.js";
import type { JsonSchema, SchemaLike } from "./schema.js";
import { Agent, type Closable, type Policy, type RevertOutcome, Service, type TaskContext } from "./service.js";
import { ControlFrame } from "./vocabulary.js";

export interface ClientOptions {
  /** default: `ORRA_URL`, else http://localhost:8005 */
  orraUrl?: string;
  /** default: `ORRA_API_KEY` */
  orraKey?: string;
  /** where each service's id is kept across restarts: a file per service under `directory`
   * (default `.orra-data` in the working directory, as the original SDK), or `"none"` */
  persistenceOpts?: { method?: "file" | "none"; directory?: string };
  logger?: Logger | false;
}

/** The task as a README-style handler receives it. */
export interface Task extends Omit<TaskContext, "id"> {
  type: typeof ControlFrame.TASK_REQUEST;
  id: string;
  // biome-ignore lint: the input is whatever the schema allows
  input: Record<string, any>;
  serviceId: string;
}

export interface RegisterOptions {
  description: string;
  /** `{input, output}`: JSON Schema, the README's `{type, fields}` style or zod */
  schema?: { input?: SchemaLike; output?: SchemaLike };
  taskHandler: (task: Task) => unknown;
  /** your own version label, logged (the control plane numbers registrations itself) */
  version?: string | number;
  /** undo a completed task on compensation: `(originalInput, output, context)` */
  revertHandler?: (input: unknown, output: unknown, context: unknown) => unknown;
  policy?: Policy;
  concurrency?: number;
}

export class OrraClient implements Closable {
  readonly services: Service<JsonSchema, JsonSchema>[] = [];
  private readonly options: ClientOptions;
  private readonly log: Logger;

  constructor(options: ClientOptions = {}) {
    this.options = options;
    this.log = options.logger === false ? silentLogger : (options.logger ?? consoleLogger());
  }

  /** Register a service and start serving it; resolves once it is registered. */
  registerService(name: string, options: RegisterOptions): Promise<this> {
    return this.register(Service, name, options);
  }

  /** Register an agent and start serving it; resolves once it is registered. */
  registerAgent(name: string, options: RegisterOptions): Promise<this> {
    return this.register(Agent, name, options);
  }

  /** Close every service (each finishes the tasks it holds). */
  async close(): Promise<void> {
    await Promise.all(this.services.map((service) => service.close()));
  }

  private async register(kind: typeof Service | typeof Agent, name: string, options: RegisterOptions): Promise<this> {
    const serviceName = this.dnsName(name);
    const persistence = this.options.persistenceOpts ?? {};
    const directory = persistence.directory ?? path.join(process.cwd(), ".orra-data");
    const taskHandler = options.taskHandler;
    const service: Service<JsonSchema, JsonSchema> = new kind({
      name: serviceName,
      description: options.description,
      url: this.options.orraUrl,
      apiKey: this.options.orraKey,
      // any SchemaLike works at run time; typed as JSON Schema, the handler sees plain objects
      input: options.schema?.input as JsonSchema | undefined,
      output: options.schema?.output as JsonSchema | undefined,
      handler: (input: Record<string, unknown>, task: TaskContext): Record<string, unknown> =>
        taskHandler({ ...task, type: ControlFrame.TASK_REQUEST, input, serviceId: service.id ?? "" }) as Record<string, unknown>,
      revert: options.revertHandler as
        | ((input: unknown, output: unknown, context: unknown) => RevertOutcome | undefined)
        | undefined,
      policy: options.policy,
      concurrency: options.concurrency,
      idFile: persistence.method === "none" ? undefined : path.join(directory, `${serviceName}-orra-service-key.json`),
      logger: this.options.logger,
    });
    if (options.version !== undefined) this.log.info(`${serviceName}: your version ${options.version}`);
    this.services.push(service);
    await service.start();
    return this;
  }

  private dnsName(name: string): string {
    try {
      checkName(name);
      return name;
    } catch (error) {
      const suggestion = error instanceof InvalidServiceName ? suggestName(name) : null;
      if (!suggestion) throw error;
      this.log.warn(`'${name}' is not an RFC 1123 name (${(error as Error).message}); registering it as '${suggestion}'`);
      return suggestion;
    }
  }
}

/** The original README's entry point. */
export function createClient(options: ClientOptions = {}): OrraClient {
  return new OrraClient(options);
}
