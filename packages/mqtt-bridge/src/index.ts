export { createMqttBridge, MqttBridge } from './bridge.js';
export type {
  BridgeAuthorizer,
  CallerContext,
  MqttBridgeEvents,
  MqttBridgeOptions,
  MqttConnectSettings,
  ResponseInfo,
  SensorFormat,
  StartOptions,
} from './bridge.js';
export { BridgeRequestError, BridgeConfigError } from './errors.js';
export type { BridgeErrorCode } from './errors.js';
export { errorStatus } from './error-status.js';
export type { ErrorStatus } from './error-status.js';
export {
  METHODS,
  parseRequestTopic,
  decodeTopicLevel,
  encodeTopicLevel,
  requestTopic,
  sensorTopic,
  endpointTopic,
  checkPrefix,
} from './topic.js';
export type { BridgeMethod, RequestTopic } from './topic.js';
export { valueToJson, nodeToJson, nodesToJson, jsonToValue, jsonToNode } from './json-values.js';
export type { JsonValue } from './json-values.js';
export { parseRequest, parseJsonBody, FORMAT_NAMES } from './request-body.js';
export type { BridgeRequest, RequestId, BodyLimits } from './request-body.js';
