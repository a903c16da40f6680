/**
 * `@orra-studio/sdk`: serve Orra Studio tasks from Node.js.
 *
 * Two shapes, one implementation: `new Service({...})` (typed; zod or JSON Schema) and the
 * original orra README's `createClient(...).registerService(name, {...})`.
 */

/** zod, the same major version the SDK converts: `import { z } from "@orra-studio/sdk"`. */
export { z } from "zod";
export { backoffDelay, type BackoffOptions } from "./backoff.js";
export { ResultCache, type ResultCacheOptions } from "./cache.js";
export {
  type CompensationContext,
  type CompensationRequest,
  decode,
  MAX_FRAME,
  type ServerMessage,
  type TaskRequest,
} from "./codec.js";
export { type ClientOptions, createClient, OrraClient, type RegisterOptions, type Task } from "./compat.js";
export {
  AuthError,
  ConfigError,
  ConnectionError,
  type ErrorCode,
  InvalidServiceName,
  OrraError,
  OutputError,
  RegistrationError,
  SchemaError,
  TaskAborted,
} from "./errors.js";
export { consoleLogger, type Level, type Logger, silentLogger } from "./logger.js";
export { checkDescription, checkName, MAX_DESCRIPTION, MAX_NAME, suggestName } from "./names.js";
export {
  checkerFor,
  type FieldsSchema,
  type InputOf,
  type JsonSchema,
  type OutputOf,
  type SchemaLike,
  toJsonSchema,
} from "./schema.js";
export {
  Agent,
  type Closable,
  closeOnSignals,
  type Policy,
  type RevertOutcome,
  Service,
  type ServiceOptions,
  type TaskContext,
} from "./service.js";
