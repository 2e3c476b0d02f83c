import { Lwm2mError } from '@lwm2m/core';

function formatCoapCode(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

/** The client answered with an error code (4.xx, 5.xx) or a code the operation does not expect. */
export class RequestFailedError extends Lwm2mError {
  /** The raw CoAP code (e.g. 132 for 4.04). */
  readonly coapCode: number;
  /** The code as text, `4.04`. */
  readonly codeText: string;
  /** The diagnostic payload the client sent with it, if any. */
  readonly diagnostic: string | undefined;

  constructor(operation: string, coapCode: number, diagnostic?: string) {
    const codeText = formatCoapCode(coapCode);
    super(
      'ERR_REQUEST_FAILED',
      `${operation} failed with ${codeText}${diagnostic === undefined || diagnostic === '' ? '' : `: ${diagnostic}`}`,
    );
    this.coapCode = coapCode;
    this.codeText = codeText;
    this.diagnostic = diagnostic === '' ? undefined : diagnostic;
  }
}

/** No registration for this endpoint name. */
export class ClientNotRegisteredError extends Lwm2mError {
  readonly endpoint: string;

  constructor(endpoint: string) {
    super('ERR_NOT_REGISTERED', `client ${JSON.stringify(endpoint)} is not registered`);
    this.endpoint = endpoint;
  }
}

/** A request for a queue-mode client waited for it to wake up until its timeout ran out. */
export class ClientSleepingError extends Lwm2mError {
  readonly endpoint: string;

  constructor(endpoint: string) {
    super(
      'ERR_CLIENT_SLEEPING',
      `client ${JSON.stringify(endpoint)} stayed asleep until the request timed out`,
    );
    this.endpoint = endpoint;
  }
}

/** The registration a queued or running request was for went away (deregistered, expired, replaced). */
export class RegistrationEndedError extends Lwm2mError {
  readonly endpoint: string;

  constructor(endpoint: string, reason: string) {
    super('ERR_REGISTRATION_ENDED', `registration of ${JSON.stringify(endpoint)} ended (${reason})`);
    this.endpoint = endpoint;
  }
}

/** A value, path or option given to a server method that cannot be sent as asked. */
export class InvalidRequestError extends Lwm2mError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_REQUEST', message, options);
  }
}
