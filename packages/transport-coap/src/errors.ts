import { Lwm2mError, TimeoutError } from '@lwm2m/core';

/**
 * A datagram that is not a well-formed CoAP message. `messageId` and `type` are set when the
 * fixed header could still be read, so the endpoint can answer a malformed CON with a Reset.
 */
export class CoapMessageError extends Lwm2mError {
  readonly messageId: number | undefined;
  readonly type: number | undefined;
  readonly offset: number | undefined;

  constructor(message: string, details: { messageId?: number; type?: number; offset?: number } = {}) {
    super('ERR_COAP_MESSAGE', message);
    this.messageId = details.messageId;
    this.type = details.type;
    this.offset = details.offset;
  }
}

/** A confirmable message that was never acknowledged after MAX_RETRANSMIT retransmissions. */
export class CoapTimeoutError extends TimeoutError {
  constructor(message = 'no acknowledgement from peer') {
    super(message);
  }
}

/** The peer answered our message with a Reset: it does not know the exchange (or rejects pings). */
export class CoapResetError extends Lwm2mError {
  constructor(message = 'peer answered with Reset') {
    super('ERR_COAP_RESET', message);
  }
}

/** A request we cannot build or send (bad option, body too large for a block transfer...). */
export class CoapRequestError extends Lwm2mError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_COAP_REQUEST', message, options);
  }
}

/** The peer answered a block-wise transfer in a way we cannot continue (lost state, ETag change...). */
export class CoapBlockError extends Lwm2mError {
  readonly responseCode: number | undefined;

  constructor(message: string, responseCode?: number) {
    super('ERR_COAP_BLOCK', message);
    this.responseCode = responseCode;
  }
}
