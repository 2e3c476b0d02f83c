export { createClient, Lwm2mClient } from './client.js';
export type {
  ClientOptions,
  ClientEvents,
  ServerAccount,
  BootstrapAccount,
  RegistrationInfo,
  RegistrationFailure,
  NotifyInfo,
  SessionInfo,
} from './client.js';
export type { ClientTransport, ConnectTarget } from './transport.js';
export { parseServerUri } from './transport.js';
export type { Clock } from '@lwm2m/core';
export { systemClock } from '@lwm2m/core';
export type { Lwm2mVersion } from './formats.js';
export type {
  InstanceHandler,
  ObjectImplementation,
  ResourceContent,
  ChangeSink,
  WriteContext,
} from './instance.js';
export { StoredInstance } from './stored-instance.js';
export type { InitialValues } from './stored-instance.js';
export { ObjectTree } from './object-tree.js';
export type { OperationContext } from './object-tree.js';
export type { DmOperation } from './dm-handler.js';
export type { BootstrapOperation } from './bootstrap.js';
export type { RetryPolicy, SessionState } from './session.js';
export { DEFAULT_RETRY } from './session.js';
export {
  Lwm2mOperationError,
  BadRequestError,
  UnauthorizedError,
  NotFoundError,
  MethodNotAllowedError,
  NotAcceptableError,
  UnsupportedContentFormatError,
  Lwm2mRequestError,
  ClientConfigError,
  FirmwareUpdateError,
} from './errors.js';
export { FirmwareUpdateInstance, firmwareUpdateObject } from './objects/firmware-update.js';
export type {
  FirmwareOptions,
  FirmwareMeta,
  FirmwarePackageInfo,
  FirmwareHost,
  FirmwareEvents,
  FirmwareStateEvent,
  FirmwareProgressEvent,
  FirmwareDeferRequest,
  Block1Source,
} from './objects/firmware-update.js';
export { FirmwareState, UpdateResult, FirmwareProtocol, FirmwareSeverity } from './firmware/update-result.js';
export type { DownloadProgress } from './firmware/http-download.js';
export { CoapBlockFetcher } from './firmware/coap-block-fetcher.js';
export type { FetchedBlock } from './firmware/coap-block-fetcher.js';
export { AccessControl, accessControlObject } from './objects/access-control.js';
export type { AccessControlEntry } from './objects/access-control.js';
export { AccessRight } from './object-tree.js';
export type { AccessChecker } from './object-tree.js';
export { securityInstance } from './objects/security.js';
export type { KeyMaterial, SecurityConfig } from './objects/security.js';
export { SecurityMode, connectSecurityOf } from './security-target.js';
export type { CertificateUsage, ConnectSecurity } from './security-target.js';
export { dtlsCredentials } from './dtls-credentials.js';
export type { DtlsCredentials } from './dtls-credentials.js';
export { ServerInstance } from './objects/server.js';
export type { ServerConfig, ServerActions } from './objects/server.js';
export { DeviceInstance } from './objects/device.js';
export type { DeviceInfo } from './objects/device.js';
export {
  connectivityMonitoringInstance,
  connectivityMonitoringObject,
} from './objects/connectivity-monitoring.js';
export type { ConnectivityInfo } from './objects/connectivity-monitoring.js';
export { LocationInstance, locationObject } from './objects/location.js';
export {
  ConnectivityStatisticsInstance,
  connectivityStatisticsObject,
} from './objects/connectivity-statistics.js';
export { TemperatureSensor, temperatureObject } from './objects/temperature.js';
export type { TemperatureOptions } from './objects/temperature.js';
