export { DtlsCredentialsConfigError, dtlsEcdsaSettings, isP256PublicKey } from './dtls-ecdsa.js';
export type { DtlsEcdsaSettings } from './dtls-ecdsa.js';
export { stopOnSignals } from './shutdown.js';
