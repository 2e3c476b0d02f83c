export { AppConfigError } from './config-error.js';
export { DtlsCredentialsConfigError, dtlsEcdsaSettings } from './dtls-ecdsa.js';
export type { DtlsEcdsaSettings } from './dtls-ecdsa.js';
export {
  SecurityEntryError,
  baseDirOf,
  parseSecurityEntries,
  securityEntriesFromEnv,
} from './security-entries.js';
export {
  openServerSockets,
  portFromEnv,
  serverListenSettings,
  unreachableEntriesWarning,
} from './server-sockets.js';
export type { ServerListenSettings } from './server-sockets.js';
export { openServerStores } from './server-stores.js';
export type { OpenedServerStores } from './server-stores.js';
export { stopOnSignals } from './shutdown.js';
