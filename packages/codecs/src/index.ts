export { createCodec } from './codec.js';
export type { CodecOptions, Lwm2mCodec } from './codec.js';
export { ContentFormat } from '@lwm2m/core';
export { DEFAULT_DECODE_LIMITS } from './types.js';
export type {
  CodecContext,
  CompositeFormat,
  CompositeNodes,
  DecodeLimits,
  FlatEntry,
  NodeFormat,
  TimestampedFormat,
  TimestampedNodes,
} from './types.js';
export { nodeToEntries, entriesToNode } from './flat.js';
export { textFormat } from './text.js';
export { opaqueFormat } from './opaque.js';
export { cborFormat } from './cbor.js';
export { tlvFormat } from './tlv.js';
export { senmlJsonFormat } from './senml-json.js';
export { senmlCborFormat } from './senml-cbor.js';
export { jsonFormat } from './lwm2m-json.js';
export { lwm2mCborFormat } from './lwm2m-cbor.js';
export {
  parseLinkFormat,
  formatLinkFormat,
  parseRegistrationLinks,
  formatRegistrationLinks,
  parseDiscoverLinks,
  formatDiscoverLinks,
  DEFAULT_LINK_FORMAT_LIMITS,
} from './link-format.js';
export type {
  Link,
  LinkParams,
  LinkFormatLimits,
  RegisteredObject,
  RegistrationLinks,
  RegistrationLinksInput,
  DiscoverLink,
  NotificationAttributes,
} from './link-format.js';
export { valueToText, valueFromText, checkValue, inferType, numberToTyped } from './value-types.js';
export {
  parseAttributeQuery,
  formatAttributeQuery,
  applyAttributeChanges,
  attributeRuleViolation,
} from './attribute-query.js';
export type { AttributeName, AttributeChanges } from './attribute-query.js';
