import { Lwm2mError } from '@lwm2m/core';

/**
 * A device-management operation the client refuses. `coapCode` is the response code the server
 * gets (4.04, 4.05, ...). Instance handlers throw these to answer with a specific code; any other
 * error thrown by a handler becomes 5.00.
 */
export class Lwm2mOperationError extends Lwm2mError {
  readonly coapCode: number;
  constructor(code: string, coapCode: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.coapCode = coapCode;
  }
}

/** 4.00: a bad value, a payload that does not decode, a malformed request. */
export class BadRequestError extends Lwm2mOperationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BAD_REQUEST', 128, message, options);
  }
}

/** 4.01: the server may not touch this (e.g. the Security object outside bootstrap). */
export class UnauthorizedError extends Lwm2mOperationError {
  constructor(message: string) {
    super('ERR_UNAUTHORIZED', 129, message);
  }
}

/** 4.04: no such object, instance, resource or resource instance. */
export class NotFoundError extends Lwm2mOperationError {
  constructor(message: string) {
    super('ERR_NOT_FOUND', 132, message);
  }
}

/** 4.05: the operation is not allowed on the target (e.g. Write on a read-only resource). */
export class MethodNotAllowedError extends Lwm2mOperationError {
  constructor(message: string) {
    super('ERR_METHOD_NOT_ALLOWED', 133, message);
  }
}

/** 4.06: no format the client speaks fits the Accept option (or Bootstrap-Finish with an unusable configuration). */
export class NotAcceptableError extends Lwm2mOperationError {
  constructor(message: string) {
    super('ERR_NOT_ACCEPTABLE', 134, message);
  }
}

/** 4.15: the request's payload is in a format the client does not decode for that target. */
export class UnsupportedContentFormatError extends Lwm2mOperationError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED_CONTENT_FORMAT', 143, message);
  }
}

/** A request to a server that failed (registration, update, send); `coapCode` is set when the server answered. */
export class Lwm2mRequestError extends Lwm2mError {
  readonly coapCode: number | undefined;
  constructor(message: string, coapCode?: number, options?: { cause?: unknown }) {
    super('ERR_REQUEST', message, options);
    this.coapCode = coapCode;
  }
}

/** The client's configuration cannot work (no server, bad URI, unknown object). */
export class ClientConfigError extends Lwm2mError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CLIENT_CONFIG', message, options);
  }
}

/**
 * A firmware download, check or update that failed; `updateResult` is the Update Result (5/0/5) it
 * leaves: 2 not enough flash, 3 out of RAM, 4 connection lost, 5 integrity check failure, 6
 * unsupported package type, 7 invalid URI, 8 update failed, 9 unsupported protocol. A `verify` or
 * `apply` hook may throw one to pick the result.
 */
export class FirmwareUpdateError extends Lwm2mError {
  readonly updateResult: number;
  constructor(updateResult: number, message: string, options?: { cause?: unknown }) {
    super('ERR_FIRMWARE_UPDATE', message, options);
    this.updateResult = updateResult;
  }
}
