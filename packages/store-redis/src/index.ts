export { createRedisRegistrationStore } from './registration-store.js';
export type { RedisStoreOptions } from './registration-store.js';
export { createRedisObservationStore } from './observation-store.js';
export { createRedisSecurityStore } from './security-store.js';
export { createRedisBootstrapConfigStore } from './bootstrap-config-store.js';
export type { RedisBootstrapConfigStoreOptions } from './bootstrap-config-store.js';
