export {
  CoapType,
  CoapCode,
  code,
  formatCode,
  parseCode,
  methodName,
  methodCode,
  parseMethod,
  isEmptyCode,
  isRequestCode,
  isResponseCode,
  isSuccessCode,
} from './codes.js';
export type { CoapMethod } from './codes.js';
export { parseMessage, serializeMessage } from './message.js';
export type { CoapMessage, CoapOption } from './message.js';
export {
  CoapOptionNumber,
  isCriticalOption,
  isUnsafeOption,
  isNoCacheKeyOption,
  firstUnknownCriticalOption,
  encodeUint,
  decodeUint,
  uintOption,
  stringOption,
  findOption,
  hasOption,
  getUintOption,
  getStringOptions,
  uriPath,
  uriQuery,
  splitPath,
  splitQuery,
} from './options.js';
export {
  decodeBlock,
  encodeBlock,
  blockSize,
  sizeToSzx,
  sliceBlock,
  BlockAssembler,
  MAX_BLOCK_NUMBER,
} from './block.js';
export type { BlockOption } from './block.js';
export {
  CoapMessageError,
  CoapTimeoutError,
  CoapResetError,
  CoapRequestError,
  CoapBlockError,
} from './errors.js';
export { CoapEndpoint, createCoapEndpoint } from './endpoint.js';
export type {
  CoapEndpointOptions,
  CoapEndpointEvents,
  ObserveOptions,
  Block1Progress,
  AdoptObservationRequest,
  AdoptObservationOptions,
  MovedPeer,
} from './endpoint.js';
export { DEFAULT_TRANSMISSION } from './types.js';
export type {
  Payload,
  OutgoingRequest,
  RequestOptions,
  CoapResponse,
  IncomingRequest,
  OutgoingResponse,
  RequestHandler,
  TransmissionParameters,
} from './types.js';
export { ServerObservation } from './observe-server.js';
export type { Notification, ObservationEndReason, ServerObservationEvents } from './observe-server.js';
export { Observation, isFresher } from './observe-client.js';
export type { ObservationEvents } from './observe-client.js';
export { createRouter } from './router.js';
export type { CoapRouter } from './router.js';
export { createUdpSocket } from './udp-socket.js';
export type { UdpSocketOptions } from './udp-socket.js';
export { createMemorySocketPair, MemorySocket } from './memory-socket.js';
