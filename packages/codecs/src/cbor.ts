/**
 * application/cbor (content format 60, LwM2M TS Core 1.1 §7.4.6): one resource or resource-instance
 * value as a single CBOR data item (RFC 8949). Integers and unsigned as major types 0/1, floats as
 * floats (single when exact, else double), booleans, text and byte strings, time as tag 1 over
 * whole seconds, object links as text `3:0` — what Leshan writes.
 *
 * This module reads and writes that one item itself instead of through cbor-x: cbor-x rejects
 * indefinite-length strings (which RFC 8949 allows and some encoders stream), writes a Uint8Array
 * as tag 64 and negative bigints in 8 bytes, and accepts invalid UTF-8. One scalar item needs
 * none of a general CBOR library; this reader is bounded and strict about trailing bytes.
 */
import { ContentFormat, DecodeError, EncodeError, formatObjectLink, parseObjectLink } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectLink, PathLevel, ResourceType, ResourceValue } from '@lwm2m/core';
import type { CodecContext, NodeFormat } from './types.js';
import {
  INT64_MAX,
  checkValue,
  expectSingleValue,
  normalizeInteger,
  numberToTyped,
  singleValueNode,
  singleValueType,
  timeToSeconds,
} from './value-types.js';

const FORMAT = ContentFormat.CBOR;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>(['resource', 'resourceInstance']);

// Major types (RFC 8949 §3.1).
const UNSIGNED = 0;
const NEGATIVE = 1;
const BYTES = 2;
const TEXT = 3;
const TAG = 6;
const SIMPLE = 7;

const TAG_DATE_TIME = 0;
const TAG_EPOCH = 1;
const TAG_POSITIVE_BIGNUM = 2;
const TAG_NEGATIVE_BIGNUM = 3;

/** Bignums longer than this cannot fit a uint64 even with leading zero bytes stripped. */
const MAX_BIGNUM_BYTES = 16;

/** RFC 3339 date-time as tag 0 carries it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Encoding

function headSize(argument: number | bigint): number {
  if (argument < 24) return 1;
  if (argument <= 0xff) return 2;
  if (argument <= 0xffff) return 3;
  if (argument <= 0xffffffff) return 5;
  return 9;
}

/** Writes the initial byte and argument of a data item at `pos`; returns the next position. */
function writeHead(
  out: Uint8Array,
  view: DataView,
  pos: number,
  major: number,
  argument: number | bigint,
): number {
  const size = headSize(argument);
  if (size === 1) {
    out[pos] = (major << 5) | Number(argument);
  } else if (size === 2) {
    out[pos] = (major << 5) | 24;
    out[pos + 1] = Number(argument);
  } else if (size === 3) {
    out[pos] = (major << 5) | 25;
    view.setUint16(pos + 1, Number(argument));
  } else if (size === 5) {
    out[pos] = (major << 5) | 26;
    view.setUint32(pos + 1, Number(argument));
  } else {
    out[pos] = (major << 5) | 27;
    view.setBigUint64(pos + 1, BigInt(argument));
  }
  return pos + size;
}

function integerItem(value: number | bigint, tag?: number): Uint8Array {
  const negative = value < 0;
  // A negative integer n is carried as -1 - n.
  const argument = negative ? (typeof value === 'bigint' ? -1n - value : -1 - value) : value;
  const tagSize = tag === undefined ? 0 : 1;
  const out = new Uint8Array(tagSize + headSize(argument));
  const view = new DataView(out.buffer);
  if (tag !== undefined) out[0] = (TAG << 5) | tag;
  writeHead(out, view, tagSize, negative ? NEGATIVE : UNSIGNED, argument);
  return out;
}

function floatItem(value: number): Uint8Array {
  if (Number.isNaN(value)) return Uint8Array.of(0xf9, 0x7e, 0x00);
  if (value === Infinity) return Uint8Array.of(0xf9, 0x7c, 0x00);
  if (value === -Infinity) return Uint8Array.of(0xf9, 0xfc, 0x00);
  const single = Math.fround(value) === value;
  const out = new Uint8Array(single ? 5 : 9);
  const view = new DataView(out.buffer);
  out[0] = single ? 0xfa : 0xfb;
  if (single) view.setFloat32(1, value);
  else view.setFloat64(1, value);
  return out;
}

function stringItem(major: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(headSize(bytes.byteLength) + bytes.byteLength);
  out.set(bytes, writeHead(out, new DataView(out.buffer), 0, major, bytes.byteLength));
  return out;
}

function encodeValue(type: ResourceType, value: ResourceValue): Uint8Array {
  checkValue(type, value, FORMAT);
  switch (type) {
    case 'string':
    case 'corelnk':
      return stringItem(TEXT, utf8Encoder.encode(value as string));
    case 'integer':
    case 'unsigned':
      return integerItem(value as number | bigint);
    case 'float':
      return floatItem(value as number);
    case 'boolean':
      return Uint8Array.of(value ? 0xf5 : 0xf4);
    case 'opaque':
      return stringItem(BYTES, value as Uint8Array);
    case 'time':
      return integerItem(timeToSeconds(value as Date), TAG_EPOCH);
    case 'objlnk':
      return stringItem(TEXT, utf8Encoder.encode(formatObjectLink(value as ObjectLink)));
    case 'none':
      // checkValue has thrown already.
      throw new EncodeError('an executable resource carries no value', { format: FORMAT });
  }
}

function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const single = expectSingleValue(node, path, FORMAT);
  return encodeValue(single.type, single.value);
}

// ---------------------------------------------------------------------------------------------
// Decoding: one scalar item, read into a small tagged union, then converted to the resource type.

type CborScalar =
  | { readonly kind: 'integer'; readonly value: number | bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  /** Tag 1: seconds since the epoch. */
  | { readonly kind: 'epoch'; readonly value: number | bigint }
  /** Tag 0: an RFC 3339 date-time string. */
  | { readonly kind: 'dateTime'; readonly value: string };

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

class CborReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly context: CodecContext,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, offset = this.pos): never {
    throw new DecodeError(`CBOR: ${message}`, { format: FORMAT, offset });
  }

  /** The single item filling the whole payload. */
  readSingle(): CborScalar {
    if (this.bytes.byteLength === 0) this.fail('empty payload');
    const item = this.item(0);
    if (this.pos !== this.bytes.byteLength) {
      this.fail(`${this.bytes.byteLength - this.pos} bytes after the value (one data item expected)`);
    }
    return item;
  }

  private need(count: number): void {
    if (this.pos + count > this.bytes.byteLength) this.fail(`truncated: ${count} more bytes needed`);
  }

  /** Reads the argument of a head whose additional information is `info`. */
  private argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    const view = this.view;
    const pos = this.pos;
    switch (info) {
      case 24:
        this.need(1);
        this.pos += 1;
        return view.getUint8(pos);
      case 25:
        this.need(2);
        this.pos += 2;
        return view.getUint16(pos);
      case 26:
        this.need(4);
        this.pos += 4;
        return view.getUint32(pos);
      case 27:
        this.need(8);
        this.pos += 8;
        return normalizeInteger(view.getBigUint64(pos));
      default:
        return this.fail(`reserved additional information ${info}`, start);
    }
  }

  private item(depth: number): CborScalar {
    if (depth > this.context.limits.maxDepth)
      this.fail(`nesting deeper than ${this.context.limits.maxDepth}`);
    const start = this.pos;
    this.need(1);
    const initial = this.bytes[this.pos++] as number;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case UNSIGNED:
        return { kind: 'integer', value: this.argument(info, start) };
      case NEGATIVE: {
        const n = this.argument(info, start);
        return { kind: 'integer', value: typeof n === 'bigint' ? normalizeInteger(-1n - n) : -1 - n };
      }
      case BYTES:
        // A copy, so the value does not pin (or see changes to) the payload.
        return { kind: 'bytes', value: this.string(BYTES, info, start).slice() };
      case TEXT:
        return { kind: 'text', value: this.text(this.string(TEXT, info, start), start) };
      case TAG:
        return this.tagged(this.argument(info, start), start, depth);
      case SIMPLE:
        return this.simple(info, start);
      default:
        return this.fail('arrays and maps cannot be a single resource value', start);
    }
  }

  /** The content of a byte or text string; a view on the payload when its length is definite. */
  private string(major: number, info: number, start: number): Uint8Array {
    if (info !== 31) {
      const length = this.argument(info, start);
      if (typeof length === 'bigint' || length > this.bytes.byteLength - this.pos) {
        this.fail(`string of ${length} bytes overruns the payload`, start);
      }
      const value = this.bytes.subarray(this.pos, this.pos + length);
      this.pos += length;
      return value;
    }
    // Indefinite length: definite chunks of the same major type until a break (RFC 8949 §3.2.3).
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      this.need(1);
      const chunkStart = this.pos;
      const initial = this.bytes[this.pos++] as number;
      if (initial === 0xff) break;
      if (initial >> 5 !== major || (initial & 0x1f) === 31)
        this.fail('bad chunk in an indefinite-length string', chunkStart);
      if (chunks.length >= this.context.limits.maxEntries) this.fail('too many string chunks', chunkStart);
      const chunk = this.string(major, initial & 0x1f, chunkStart);
      chunks.push(chunk);
      total += chunk.byteLength;
    }
    const value = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      value.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return value;
  }

  private text(bytes: Uint8Array, start: number): string {
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('text string is not valid UTF-8', start);
    }
  }

  private tagged(tag: number | bigint, start: number, depth: number): CborScalar {
    const inner = this.item(depth + 1);
    switch (tag) {
      case TAG_EPOCH:
        if (inner.kind !== 'integer' && inner.kind !== 'float') this.fail('tag 1 must hold a number', start);
        return { kind: 'epoch', value: inner.value };
      case TAG_DATE_TIME:
        if (inner.kind !== 'text') this.fail('tag 0 must hold a text string', start);
        return { kind: 'dateTime', value: inner.value };
      case TAG_POSITIVE_BIGNUM:
      case TAG_NEGATIVE_BIGNUM: {
        if (inner.kind !== 'bytes') this.fail(`tag ${tag} must hold a byte string`, start);
        if (inner.value.byteLength > MAX_BIGNUM_BYTES) this.fail('bignum too large', start);
        let n = 0n;
        for (const b of inner.value) n = (n << 8n) | BigInt(b);
        return { kind: 'integer', value: normalizeInteger(tag === TAG_POSITIVE_BIGNUM ? n : -1n - n) };
      }
      default:
        // A tag we do not know only annotates its content (RFC 8949 §3.4); keep the content.
        return inner;
    }
  }

  private simple(info: number, start: number): CborScalar {
    const view = this.view;
    const pos = this.pos;
    switch (info) {
      case 20:
        return { kind: 'boolean', value: false };
      case 21:
        return { kind: 'boolean', value: true };
      case 25:
        this.need(2);
        this.pos += 2;
        return { kind: 'float', value: halfToNumber(view.getUint16(pos)) };
      case 26:
        this.need(4);
        this.pos += 4;
        return { kind: 'float', value: view.getFloat32(pos) };
      case 27:
        this.need(8);
        this.pos += 8;
        return { kind: 'float', value: view.getFloat64(pos) };
      case 22:
      case 23:
        return this.fail('null or undefined is not a resource value', start);
      case 31:
        return this.fail('unexpected break', start);
      default:
        return this.fail(`simple value ${info} is not a resource value`, start);
    }
  }
}

/** The resource type a value has when the model does not say (as Leshan guesses it). */
function guessType(item: CborScalar): ResourceType {
  switch (item.kind) {
    case 'integer':
      return item.value > INT64_MAX ? 'unsigned' : 'integer';
    case 'float':
      return 'float';
    case 'boolean':
      return 'boolean';
    case 'text':
      return 'string';
    case 'bytes':
      return 'opaque';
    case 'epoch':
    case 'dateTime':
      return 'time';
  }
}

function mismatch(item: CborScalar, type: ResourceType): never {
  throw new DecodeError(`CBOR ${item.kind} cannot be the value of a ${type} resource`, { format: FORMAT });
}

function toValue(item: CborScalar, type: ResourceType): ResourceValue {
  switch (type) {
    case 'string':
    case 'corelnk':
      return item.kind === 'text' ? item.value : mismatch(item, type);
    case 'integer':
    case 'unsigned':
    case 'float':
      // A peer may write a whole float as an integer or the reverse; the model decides.
      if (item.kind !== 'integer' && item.kind !== 'float') mismatch(item, type);
      return numberToTyped(type, item.value, FORMAT);
    case 'boolean':
      return item.kind === 'boolean' ? item.value : mismatch(item, type);
    case 'opaque':
      return item.kind === 'bytes' ? item.value : mismatch(item, type);
    case 'time':
      if (item.kind === 'epoch' || item.kind === 'integer' || item.kind === 'float') {
        return numberToTyped('time', item.value, FORMAT);
      }
      if (item.kind === 'dateTime') {
        const ms = DATE_TIME.test(item.value) ? Date.parse(item.value) : Number.NaN;
        if (Number.isNaN(ms))
          throw new DecodeError(`CBOR: bad date-time ${JSON.stringify(item.value)}`, { format: FORMAT });
        return numberToTyped('time', Math.floor(ms / 1000), FORMAT);
      }
      return mismatch(item, type);
    case 'objlnk': {
      const link = item.kind === 'text' ? parseObjectLink(item.value) : undefined;
      return link ?? mismatch(item, type);
    }
    case 'none':
      return mismatch(item, type);
  }
}

function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  const modelType = singleValueType(path, context.registry, FORMAT);
  const item = new CborReader(payload, context).readSingle();
  const type = modelType ?? guessType(item);
  return singleValueNode(path, type, toValue(item, type));
}

export const cborFormat: NodeFormat = { id: FORMAT, levels: LEVELS, encode, decode };
