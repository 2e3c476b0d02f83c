export { createServer, Lwm2mServer, MAX_TRANSMIT_WAIT } from './server.js';
export type {
  Authorizer,
  AuthorizationRequest,
  FormatOptions,
  NotificationEvent,
  OperationOptions,
  SendEvent,
  ServerEvents,
  ServerOptions,
  ServerStores,
  WriteOptions,
} from './server.js';
export { Observation } from './observation.js';
export type { ObservationEvents, ObservationValue } from './observation.js';
export type { Registration, RegistrationUpdate, Lwm2mVersion } from './registration.js';
export { applyRegistrationUpdate } from './registration.js';
export { registrationObjects } from './registration-objects.js';
export type { RegistrationStore } from './registration-store.js';
export { createMemoryRegistrationStore } from './memory-registration-store.js';
export type { ObservationStore, StoredObservation } from './observation-store.js';
export { createMemoryObservationStore } from './observation-store.js';
export {
  RequestFailedError,
  ClientNotRegisteredError,
  ClientSleepingError,
  RegistrationEndedError,
  InvalidRequestError,
} from './errors.js';
export type { Clock } from '@lwm2m/core';
export { systemClock } from '@lwm2m/core';
export { createDeadlineQueue } from './deadline-queue.js';
export type { DeadlineQueue } from './deadline-queue.js';
export { multiValueFormat, compositeFormat, defaultFormat } from './format-choice.js';
export { parseRegisterQuery, parseUpdateQuery, DEFAULT_LIFETIME } from './registration-params.js';
export type { ExecuteArguments } from './values.js';
