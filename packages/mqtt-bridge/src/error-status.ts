import { isLwm2mError } from '@lwm2m/core';
import { BridgeRequestError } from './errors.js';

export interface ErrorStatus {
  /** CoAP-style code: the device's own (`4.04`) or the bridge's. */
  readonly status: string;
  /** Stable machine-readable code (`ERR_NOT_REGISTERED`, `ERR_TIMEOUT`…). */
  readonly code: string;
  readonly message: string;
}

/** Where a failed request ends up in the response: the status and code for each kind of failure. */
export function errorStatus(error: unknown): ErrorStatus {
  if (error instanceof BridgeRequestError)
    return { status: error.status, code: error.code, message: error.message };
  if (isLwm2mError(error)) {
    const message = error.message;
    switch (error.code) {
      case 'ERR_REQUEST_FAILED': {
        const codeText = (error as unknown as { codeText?: unknown }).codeText;
        return { status: typeof codeText === 'string' ? codeText : '5.02', code: error.code, message };
      }
      case 'ERR_NOT_REGISTERED':
        return { status: '4.04', code: error.code, message };
      case 'ERR_TIMEOUT':
      case 'ERR_CLIENT_SLEEPING':
        return { status: '5.04', code: error.code, message };
      case 'ERR_REGISTRATION_ENDED':
      case 'ERR_CLOSED':
      case 'ERR_ABORTED':
        return { status: '5.03', code: error.code, message };
      case 'ERR_INVALID_REQUEST':
      case 'ERR_INVALID_PATH':
      case 'ERR_ENCODE':
      case 'ERR_UNSUPPORTED_FORMAT':
        return { status: '4.00', code: error.code, message };
      case 'ERR_DECODE':
        // The device answered with something we cannot decode.
        return { status: '5.02', code: error.code, message };
      default:
        return { status: '5.00', code: error.code, message };
    }
  }
  return { status: '5.00', code: 'ERR_INTERNAL', message: 'internal error in the bridge' };
}
