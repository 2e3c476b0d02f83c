export { createBootstrapServer, BootstrapServer } from './server.js';
export type {
  BootstrapServerOptions,
  BootstrapServerEvents,
  BootstrapRequestEvent,
  BootstrapRefusedEvent,
  BootstrapRefusalReason,
} from './server.js';
export type {
  BootstrapStep,
  BootstrapFailureReason,
  BootstrapSessionInfo,
  BootstrapFinishEvent,
  BootstrapFailedEvent,
} from './session.js';
export type {
  BootstrapConfig,
  SecurityInstanceConfig,
  SecurityMode,
  NoSecInstanceConfig,
  PskInstanceConfig,
  RpkInstanceConfig,
  X509InstanceConfig,
  ServerInstanceConfig,
  OscoreInstanceConfig,
  ExtraInstanceConfig,
} from './config.js';
export { bootstrapConfigProblems, validateBootstrapConfig, WRITE_FORMATS } from './config-validation.js';
export { parseBootstrapConfig, bootstrapConfigToJson } from './config-json.js';
export type { JsonValue, ParseConfigOptions } from './config-json.js';
export type { BootstrapConfigStore } from './config-store.js';
export { createMemoryBootstrapConfigStore, bootstrapPskIdentity } from './config-store.js';
export { createJsonFileBootstrapConfigStore } from './json-file-config-store.js';
export type { JsonFileConfigStoreOptions, JsonFileBootstrapConfigStore } from './json-file-config-store.js';
export { isEndpointPattern, matchesEndpoint, bestPattern } from './endpoint-pattern.js';
export {
  planWrites,
  needsDiscover,
  securityInstanceNode,
  serverInstanceNode,
  oscoreInstanceNode,
  bootstrapSecurityInfo,
  serverSecurityInfo,
} from './instances.js';
export type { PlannedWrite } from './instances.js';
export { parseBootstrapQuery } from './bootstrap-request.js';
export type { BootstrapRequestParams } from './bootstrap-request.js';
export { BootstrapConfigError, BootstrapSessionError } from './errors.js';
export type { Clock } from '@lwm2m/core';
export { systemClock } from '@lwm2m/core';
