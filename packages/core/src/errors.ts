const BRAND = Symbol.for('@lwm2m/error');

/**
 * Base of every error this toolkit throws on purpose. `code` is stable and meant for programs;
 * the message is for people. Checked with {@link isLwm2mError} because `instanceof` breaks when
 * two copies of a package are installed.
 */
export class Lwm2mError extends Error {
  readonly code: string;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export function isLwm2mError(value: unknown): value is Lwm2mError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** A path string or tuple that is not a valid LwM2M path. */
export class InvalidPathError extends Lwm2mError {
  constructor(message: string) {
    super('ERR_INVALID_PATH', message);
  }
}

/** An object definition (DDF XML) that cannot be read, or a lookup that does not fit the model. */
export class ModelError extends Lwm2mError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MODEL', message, options);
  }
}

/** A payload that does not decode in the format it claims. `offset` points at the bad byte when known. */
export class DecodeError extends Lwm2mError {
  readonly format: number | undefined;
  readonly offset: number | undefined;

  constructor(message: string, details: { format?: number; offset?: number; cause?: unknown } = {}) {
    super('ERR_DECODE', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.format = details.format;
    this.offset = details.offset;
  }
}

/** A value or node that the chosen format cannot carry (e.g. an object node as text/plain). */
export class EncodeError extends Lwm2mError {
  readonly format: number | undefined;

  constructor(message: string, details: { format?: number; cause?: unknown } = {}) {
    super('ERR_ENCODE', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.format = details.format;
  }
}

/** A content format we do not implement, or one not allowed for the target. */
export class UnsupportedFormatError extends Lwm2mError {
  readonly format: number;

  constructor(format: number, message = `unsupported content format ${format}`) {
    super('ERR_UNSUPPORTED_FORMAT', message);
    this.format = format;
  }
}

/** An operation that did not complete in time. */
export class TimeoutError extends Lwm2mError {
  constructor(message = 'operation timed out') {
    super('ERR_TIMEOUT', message);
  }
}

/** An operation cancelled through its AbortSignal. */
export class AbortError extends Lwm2mError {
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
  }
}

/** Something used after `close()`. */
export class ClosedError extends Lwm2mError {
  constructor(message = 'closed') {
    super('ERR_CLOSED', message);
  }
}

/** A store refused a change that would make two entries collide (e.g. one PSK identity for two endpoints). */
export class ConflictError extends Lwm2mError {
  constructor(message: string) {
    super('ERR_CONFLICT', message);
  }
}
