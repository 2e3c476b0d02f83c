import {
  ContentFormat,
  DecodeError,
  UnsupportedFormatError,
  canonicalContentFormat,
  pathLevel,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectRegistry, PathLevel } from '@lwm2m/core';
import { cborFormat } from './cbor.js';
import { jsonFormat } from './lwm2m-json.js';
import { lwm2mCborFormat } from './lwm2m-cbor.js';
import { opaqueFormat } from './opaque.js';
import { senmlCborFormat } from './senml-cbor.js';
import { senmlJsonFormat } from './senml-json.js';
import { textFormat } from './text.js';
import { tlvFormat } from './tlv.js';
import { DEFAULT_DECODE_LIMITS } from './types.js';
import type {
  CodecContext,
  CompositeFormat,
  CompositeNodes,
  DecodeLimits,
  NodeFormat,
  TimestampedFormat,
  TimestampedNodes,
} from './types.js';

const FORMATS: readonly NodeFormat[] = [
  textFormat,
  opaqueFormat,
  cborFormat,
  senmlJsonFormat,
  senmlCborFormat,
  tlvFormat,
  jsonFormat,
  lwm2mCborFormat,
];

export interface CodecOptions {
  /** Object definitions used to type values in untyped formats and to tell single from multiple resources. */
  readonly registry: ObjectRegistry;
  readonly limits?: Partial<DecodeLimits>;
  /** Clock for relative SenML times, in milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
}

/** Encodes and decodes LwM2M payloads in every format, by CoAP Content-Format number. */
export interface Lwm2mCodec {
  /** Formats (canonical numbers) that can carry a node at this path level. */
  formatsFor(level: PathLevel): number[];
  supports(format: number, level?: PathLevel): boolean;
  encode(format: number, node: Lwm2mNode, path: Lwm2mPath): Uint8Array;
  decode(format: number, payload: Uint8Array, path: Lwm2mPath): Lwm2mNode;
  encodeComposite(format: number, nodes: CompositeNodes): Uint8Array;
  decodeComposite(format: number, payload: Uint8Array, paths?: readonly Lwm2mPath[]): Map<string, Lwm2mNode>;
  encodePaths(format: number, paths: readonly Lwm2mPath[]): Uint8Array;
  decodePaths(format: number, payload: Uint8Array): Lwm2mPath[];
  encodeTimestamped(format: number, data: readonly TimestampedNodes[], path: Lwm2mPath): Uint8Array;
  decodeTimestamped(format: number, payload: Uint8Array, path: Lwm2mPath): TimestampedNodes[];
}

function isComposite(f: NodeFormat): f is CompositeFormat {
  return typeof (f as CompositeFormat).encodeComposite === 'function';
}

function isTimestamped(f: NodeFormat): f is TimestampedFormat {
  return typeof (f as TimestampedFormat).encodeTimestamped === 'function';
}

export function createCodec(options: CodecOptions): Lwm2mCodec {
  const context: CodecContext = {
    registry: options.registry,
    limits: { ...DEFAULT_DECODE_LIMITS, ...options.limits },
    ...(options.now === undefined ? {} : { now: options.now }),
  };
  const byId = new Map<number, NodeFormat>(FORMATS.map((f) => [f.id, f]));

  function lookup(format: number): NodeFormat {
    const f = byId.get(canonicalContentFormat(format));
    if (!f) throw new UnsupportedFormatError(format);
    return f;
  }
  function forPath(format: number, path: Lwm2mPath): NodeFormat {
    const f = lookup(format);
    const level = pathLevel(path);
    if (!f.levels.has(level))
      throw new UnsupportedFormatError(format, `content format ${format} cannot carry a ${level} path`);
    return f;
  }
  function composite(format: number): CompositeFormat {
    const f = lookup(format);
    if (!isComposite(f))
      throw new UnsupportedFormatError(format, `content format ${format} cannot carry several paths`);
    return f;
  }
  function timestamped(format: number): TimestampedFormat {
    const f = lookup(format);
    if (!isTimestamped(f))
      throw new UnsupportedFormatError(format, `content format ${format} cannot carry timestamps`);
    return f;
  }
  function checkSize(payload: Uint8Array, format: number): void {
    if (payload.byteLength > context.limits.maxPayloadBytes) {
      throw new DecodeError(
        `payload of ${payload.byteLength} bytes exceeds the ${context.limits.maxPayloadBytes}-byte limit`,
        {
          format,
        },
      );
    }
  }

  return {
    formatsFor(level) {
      return FORMATS.filter((f) => f.levels.has(level)).map((f) => f.id);
    },
    supports(format, level) {
      const f = byId.get(canonicalContentFormat(format));
      return f !== undefined && (level === undefined || f.levels.has(level));
    },
    encode: (format, node, path) => forPath(format, path).encode(node, path, context),
    decode(format, payload, path) {
      checkSize(payload, format);
      return forPath(format, path).decode(payload, path, context);
    },
    encodeComposite: (format, nodes) => composite(format).encodeComposite(nodes, context),
    decodeComposite(format, payload, paths) {
      checkSize(payload, format);
      return composite(format).decodeComposite(payload, context, paths);
    },
    encodePaths: (format, paths) => composite(format).encodePaths(paths),
    decodePaths(format, payload) {
      checkSize(payload, format);
      return composite(format).decodePaths(payload, context);
    },
    encodeTimestamped: (format, data, path) => timestamped(format).encodeTimestamped(data, path, context),
    decodeTimestamped(format, payload, path) {
      checkSize(payload, format);
      return timestamped(format).decodeTimestamped(payload, path, context);
    },
  };
}

export { ContentFormat };
