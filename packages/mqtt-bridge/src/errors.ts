import { Lwm2mError } from '@lwm2m/core';

/**
 * A request the bridge answers with an error before (or instead of) asking the device: a bad topic
 * or body, a refused caller, a value that does not fit. `status` is the CoAP-style code put in the
 * error response (`4.00`, `4.03`, `4.13`…).
 */
export class BridgeRequestError extends Lwm2mError {
  readonly status: string;

  constructor(code: BridgeErrorCode, status: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

export type BridgeErrorCode =
  | 'ERR_BAD_TOPIC'
  | 'ERR_BAD_PATH'
  | 'ERR_UNKNOWN_METHOD'
  | 'ERR_BAD_BODY'
  | 'ERR_BAD_VALUE'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_OBSERVED'
  | 'ERR_BAD_RESPONSE_TOPIC'
  | 'ERR_BRIDGE_CLOSING';

/** Bridge options that cannot work (bad prefix, missing MQTT settings). */
export class BridgeConfigError extends Lwm2mError {
  constructor(message: string) {
    super('ERR_BRIDGE_CONFIG', message);
  }
}
