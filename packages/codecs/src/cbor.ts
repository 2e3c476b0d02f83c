/**
 * application/cbor (content format 60, LwM2M TS Core 1.1 §7.4.6): one resource or resource-instance
 * value as a single CBOR data item (RFC 8949). Integers and unsigned as major types 0/1, floats as
 * floats (single when exact, else double), booleans, text and byte strings, time as tag 1 over
 * whole seconds, object links as text `3:0` — what Leshan writes.
 *
 * The item is read and written by this package's CBOR reader and writer, not cbor-x, which writes
 * a Uint8Array as tag 64 and negative bigints in 8 bytes, rejects indefinite-length strings and
 * accepts invalid UTF-8 (see cbor-reader.ts). Trailing bytes after the item are refused.
 */
import { ContentFormat } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, PathLevel } from '@lwm2m/core';
import { CborReader, guessType, scalarToValue } from './cbor-reader.js';
import { CborWriter, writeResourceValue } from './cbor-writer.js';
import type { CodecContext, NodeFormat } from './types.js';
import { expectSingleValue, singleValueNode, singleValueType } from './value-types.js';

const FORMAT = ContentFormat.CBOR;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>(['resource', 'resourceInstance']);

// ---------------------------------------------------------------------------------------------
// Encoding

function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const single = expectSingleValue(node, path, FORMAT);
  const w = new CborWriter(16);
  writeResourceValue(w, single.type, single.value, FORMAT);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding: one scalar item, then converted to the resource type.

function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  const modelType = singleValueType(path, context.registry, FORMAT);
  const reader = new CborReader(payload, context.limits, FORMAT, 'CBOR: ');
  if (payload.byteLength === 0) reader.fail('empty payload');
  const item = reader.readScalar(0);
  reader.expectEnd('the value (one data item expected)');
  const type = modelType ?? guessType(item);
  return singleValueNode(path, type, scalarToValue(item, type, FORMAT));
}

export const cborFormat: NodeFormat = { id: FORMAT, levels: LEVELS, encode, decode };
