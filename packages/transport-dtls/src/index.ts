export { createDtlsServer, DtlsServer } from './dtls-server.js';
export type { DtlsServerOptions, EcdsaServerOptions, PskServerOptions } from './dtls-server.js';
export { connectDtls, DtlsClientConnection } from './dtls-client.js';
export type { ConnectDtlsOptions, EcdsaClientOptions } from './dtls-client.js';
export { loadCertificates, loadPrivateKey, loadPublicKey } from './credentials.js';
export type { CertificateInput, PrivateKeyInput, PublicKeyInput } from './credentials.js';
export type { RawPublicKeyVerifier } from './peer-trust.js';
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
  DtlsCredentialsError,
} from './errors.js';
