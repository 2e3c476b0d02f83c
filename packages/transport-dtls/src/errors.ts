import { Lwm2mError } from '@lwm2m/core';

/** TLS alert descriptions used by this implementation (RFC 5246 §7.2, RFC 4279 §2, RFC 7250 §4). */
export const AlertDescription = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  noRenegotiation: 100,
  unsupportedExtension: 110,
  unknownPskIdentity: 115,
} as const;

export const AlertLevel = { warning: 1, fatal: 2 } as const;

/** The peer sent a fatal alert, or closed the connection with close_notify. */
export class DtlsAlertError extends Lwm2mError {
  readonly level: number;
  readonly description: number;

  constructor(
    level: number,
    description: number,
    message = `DTLS alert ${description} (level ${level}) from peer`,
  ) {
    super('ERR_DTLS_ALERT', message);
    this.level = level;
    this.description = description;
  }
}

/** The handshake failed on our side: bad message, unknown identity, wrong Finished, no common cipher. */
export class DtlsHandshakeError extends Lwm2mError {
  /** The alert we sent (or would send) to the peer. */
  readonly alert: number;

  constructor(
    message: string,
    alert: number = AlertDescription.handshakeFailure,
    options?: { cause?: unknown },
  ) {
    super('ERR_DTLS_HANDSHAKE', message, options);
    this.alert = alert;
  }
}

/** The handshake did not complete in time (flight retransmissions exhausted or the caller's timeout). */
export class DtlsTimeoutError extends Lwm2mError {
  constructor(message = 'DTLS handshake timed out') {
    super('ERR_DTLS_TIMEOUT', message);
  }
}

/** `send()` to a peer without an established DTLS session. */
export class DtlsNoSessionError extends Lwm2mError {
  constructor(message = 'no established DTLS session with this peer') {
    super('ERR_DTLS_NO_SESSION', message);
  }
}

/** A private key or certificate given to the server or client could not be used. */
export class DtlsCredentialsError extends Lwm2mError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DTLS_CREDENTIALS', message, options);
  }
}
