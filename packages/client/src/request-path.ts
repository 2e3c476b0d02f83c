import { isLwm2mError, MAX_ID } from '@lwm2m/core';
import type { Logger, Lwm2mPath } from '@lwm2m/core';
import type { OutgoingResponse } from '@lwm2m/transport-coap';
import { CoapCode } from '@lwm2m/transport-coap';
import { Lwm2mOperationError, NotFoundError } from './errors.js';

const DECIMAL = /^(0|[1-9][0-9]{0,4})$/;

/** The LwM2M path of a request's Uri-Path; 4.04 for anything that is not one. */
export function requestPath(segments: readonly string[]): Lwm2mPath {
  const ids: number[] = [];
  for (const segment of segments) {
    if (segment === '' && ids.length === segments.length - 1) break; // trailing slash
    const id = DECIMAL.test(segment) ? Number(segment) : Number.NaN;
    if (!(id <= MAX_ID) || ids.length === 4)
      throw new NotFoundError(`/${segments.join('/')} is not an LwM2M path`);
    ids.push(id);
  }
  return ids as unknown as Lwm2mPath;
}

/** The response for an error thrown while handling a request; unexpected errors are logged and become 5.00. */
export function errorResponse(error: unknown, logger: Logger): OutgoingResponse {
  if (
    error instanceof Lwm2mOperationError ||
    (isLwm2mError(error) && typeof (error as Lwm2mOperationError).coapCode === 'number')
  ) {
    return { code: (error as Lwm2mOperationError).coapCode, payload: error.message, contentFormat: 0 };
  }
  if (isLwm2mError(error)) {
    switch (error.code) {
      case 'ERR_DECODE':
      case 'ERR_INVALID_PATH':
        return { code: CoapCode.BAD_REQUEST, payload: error.message, contentFormat: 0 };
      case 'ERR_UNSUPPORTED_FORMAT':
        return { code: CoapCode.UNSUPPORTED_CONTENT_FORMAT, payload: error.message, contentFormat: 0 };
      case 'ERR_ENCODE':
        return { code: CoapCode.NOT_ACCEPTABLE, payload: error.message, contentFormat: 0 };
    }
  }
  logger.error({ err: error }, 'request handler failed');
  return { code: CoapCode.INTERNAL_SERVER_ERROR };
}
