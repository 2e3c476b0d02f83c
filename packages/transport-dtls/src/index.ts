export { createDtlsServer, DtlsServer } from './dtls-server.js';
export type { DtlsServerOptions, PskServerOptions } from './dtls-server.js';
export { connectDtls, DtlsClientConnection } from './dtls-client.js';
export type { ConnectDtlsOptions } from './dtls-client.js';
export { CipherSuite, DEFAULT_CIPHER_SUITES, cipherSuiteName } from './cipher-suites.js';
export type { CipherSuiteId } from './cipher-suites.js';
export type { ResumableSession } from './session-cache.js';
export type { RetransmitTimerOptions } from './flight.js';
export {
  AlertDescription,
  AlertLevel,
  DtlsAlertError,
  DtlsHandshakeError,
  DtlsTimeoutError,
  DtlsNoSessionError,
} from './errors.js';
