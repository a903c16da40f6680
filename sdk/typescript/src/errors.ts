/**
 * Every error the SDK throws is an {@link OrraError} with a stable `code`, so callers can
 * branch on `err.code` instead of parsing messages.
 */

export type ErrorCode =
  | "invalid_config"
  | "invalid_service_name"
  | "invalid_description"
  | "invalid_schema"
  | "key_refused"
  | "registration_refused"
  | "unreachable"
  | "output_mismatch"
  | "closed"
  | (string & {});

export class OrraError extends Error {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad option given to the SDK itself (a URL that is not http(s), a missing key). */
export class ConfigError extends OrraError {
  constructor(message: string) {
    super(message, "invalid_config");
  }
}

/** The control plane refused the registration; `code` is its error code. */
export class RegistrationError extends OrraError {}

/** The name breaks RFC 1123 (checked before anything is sent). */
export class InvalidServiceName extends RegistrationError {
  constructor(message: string) {
    super(message, "invalid_service_name");
  }
}

/** A schema that is neither JSON Schema, the `fields` style nor a zod schema. */
export class SchemaError extends RegistrationError {
  constructor(message: string) {
    super(message, "invalid_schema");
  }
}

/** The API key was refused (HTTP 401 or 403 on registration). */
export class AuthError extends RegistrationError {
  constructor(message: string) {
    super(message, "key_refused");
  }
}

/** The control plane could not be reached (yet): the SDK keeps trying. */
export class ConnectionError extends OrraError {
  constructor(message: string) {
    super(message, "unreachable");
  }
}

/** A handler returned a value its output schema does not allow. */
export class OutputError extends OrraError {
  constructor(message: string) {
    super(message, "output_mismatch");
  }
}

/**
 * Thrown (by `task.abort(payload)`) to abort the whole orchestration: the control plane
 * stops it and compensates what already ran. Not an OrraError: it is a decision, not a fault.
 */
export class TaskAborted extends Error {
  readonly payload: unknown;

  constructor(payload: unknown) {
    super("the handler aborted the orchestration");
    this.name = "TaskAborted";
    this.payload = payload;
  }
}
