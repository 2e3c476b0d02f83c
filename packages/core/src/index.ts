export {
  Lwm2mError,
  isLwm2mError,
  InvalidPathError,
  ModelError,
  DecodeError,
  EncodeError,
  UnsupportedFormatError,
  TimeoutError,
  AbortError,
  ClosedError,
  ConflictError,
} from './errors.js';
export type { Logger, LogFn } from './logger.js';
export { createSilentLogger } from './logger.js';
export { ContentFormat, contentFormatName, canonicalContentFormat } from './content-format.js';
export type { ContentFormatId } from './content-format.js';
export type {
  DatagramSocket,
  DatagramSocketEvents,
  DatagramMessage,
  PeerAddress,
  PeerIdentity,
} from './datagram.js';
export { formatPeer } from './datagram.js';
export type {
  Lwm2mPath,
  RootPath,
  ObjectPath,
  ObjectInstancePath,
  ResourcePath,
  ResourceInstancePath,
  PathLevel,
} from './path.js';
export {
  MAX_ID,
  parsePath,
  formatPath,
  toPath,
  isLwm2mPath,
  pathLevel,
  isRootPath,
  isObjectPath,
  isObjectInstancePath,
  isResourcePath,
  isResourceInstancePath,
  comparePaths,
  pathsEqual,
  isPathPrefix,
  parentPath,
  childPath,
} from './path.js';
export type {
  ResourceType,
  ResourceOperations,
  ResourceDefinition,
  ObjectDefinition,
  ObjectRegistry,
} from './model.js';
export type { MutableObjectRegistry } from './registry.js';
export { createObjectRegistry, compareVersions } from './registry.js';
export type {
  ObjectLink,
  ResourceValue,
  SingleResource,
  MultipleResource,
  ResourceInstance,
  ResourceNode,
  ObjectInstanceNode,
  ObjectNode,
  Lwm2mNode,
} from './node.js';
export {
  singleResource,
  multipleResource,
  resourceInstance,
  objectInstance,
  objectNode,
  isObjectLink,
  parseObjectLink,
  formatObjectLink,
} from './node.js';
export { parseDdf, MAX_DDF_BYTES, MAX_DDF_RESOURCES } from './ddf.js';
export { loadObjectsFromFile, loadObjectsFromDirectory } from './ddf-files.js';
export { createCoreObjectRegistry, coreObjectDefinitions } from './core-objects.js';
export type { SecurityInfo, SecurityStore } from './security.js';
export { identityMatches } from './security.js';
export { createMemorySecurityStore } from './memory-security-store.js';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
