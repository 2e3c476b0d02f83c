/**
 * The CBOR (RFC 8949) reader behind every CBOR format here: CBOR 60 (one scalar), SenML CBOR 112
 * (an array of maps of scalars) and LwM2M CBOR 11544 (nested maps keyed by ids). Each format walks
 * its own structure with the cursor methods and reads values with {@link CborReader.readScalar}.
 *
 * Why not cbor-x (checked with 1.6): its Map decoding silently keeps the last of two equal keys,
 * it rejects indefinite-length strings (which RFC 8949 allows and Anjay's tests send), accepts
 * invalid UTF-8, recurses without a depth bound, and builds an object graph the formats would only
 * walk again. This reader checks every length against the bytes left, bounds nesting and entries by
 * the context's limits, and allocates nothing but the values.
 */
import { DecodeError, parseObjectLink } from '@lwm2m/core';
import type { ResourceType, ResourceValue } from '@lwm2m/core';
import type { DecodeLimits } from './types.js';
import { INT64_MAX, normalizeInteger, numberToTyped } from './value-types.js';

// Major types (RFC 8949 §3.1).
export const UNSIGNED = 0;
export const NEGATIVE = 1;
export const BYTES = 2;
export const TEXT = 3;
export const ARRAY = 4;
export const MAP = 5;
export const TAG = 6;
export const SIMPLE = 7;

export const TAG_DATE_TIME = 0;
export const TAG_EPOCH = 1;
const TAG_POSITIVE_BIGNUM = 2;
const TAG_NEGATIVE_BIGNUM = 3;
const TAG_DECIMAL_FRACTION = 4;

/** The "break" stop code ending an indefinite-length item. */
export const BREAK = 0xff;
/** Bignums longer than this cannot fit a uint64 even with leading zero bytes. */
const MAX_BIGNUM_BYTES = 16;
/** Decimal-fraction exponents beyond this give 0 or Infinity anyway; bounding them keeps 10 ** e cheap. */
const MAX_DECIMAL_EXPONENT = 400;
/** ASCII text up to this length is built char by char; longer text goes through TextDecoder. */
const SHORT_TEXT = 32;
/** RFC 3339 date-time as tag 0 carries it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One CBOR scalar as read, before the model gives it a resource type. */
export type CborScalar =
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

/** A cursor over one payload; every error is a {@link DecodeError} with the format and offset. */
export class CborReader {
  pos = 0;
  /** Map entries and string chunks seen so far, checked against `limits.maxEntries`. */
  entries = 0;
  readonly bytes: Uint8Array;
  /** `bytes.byteLength`, read once: a typed array's length costs more than a field on every check. */
  readonly end: number;
  readonly limits: DecodeLimits;
  /** Made on the first float or 64-bit integer: most payloads have none, and a DataView costs ~100 ns. */
  private dataView: DataView | undefined;
  private readonly format: number;
  /** Starts every error message, naming the format (`LwM2M CBOR: `). */
  private readonly prefix: string;

  constructor(bytes: Uint8Array, limits: DecodeLimits, format: number, prefix: string) {
    this.bytes = bytes;
    this.end = bytes.byteLength;
    this.limits = limits;
    this.format = format;
    this.prefix = prefix;
  }

  private get view(): DataView {
    return (this.dataView ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }

  fail(message: string, offset = this.pos): never {
    throw new DecodeError(`${this.prefix}${message}`, { format: this.format, offset });
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Fails unless the whole payload has been read. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} bytes after ${what}`);
  }

  next(): number {
    if (this.pos >= this.end) this.fail('truncated');
    return this.bytes[this.pos++] as number;
  }

  peek(): number {
    if (this.pos >= this.end) this.fail('truncated');
    return this.bytes[this.pos] as number;
  }

  need(count: number): void {
    if (count > this.end - this.pos) this.fail(`truncated: ${count} more bytes needed`);
  }

  /** The argument of a head whose additional information is `info` (not 31). */
  argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    const pos = this.pos;
    switch (info) {
      case 24:
        this.need(1);
        this.pos += 1;
        return this.bytes[pos] as number;
      case 25:
        this.need(2);
        this.pos += 2;
        return ((this.bytes[pos] as number) << 8) | (this.bytes[pos + 1] as number);
      case 26:
        this.need(4);
        this.pos += 4;
        return (
          (this.bytes[pos] as number) * 0x1000000 +
          (((this.bytes[pos + 1] as number) << 16) |
            ((this.bytes[pos + 2] as number) << 8) |
            (this.bytes[pos + 3] as number))
        );
      case 27:
        this.need(8);
        this.pos += 8;
        return normalizeInteger(this.view.getBigUint64(pos));
      default:
        return this.fail(`reserved additional information ${info}`, start);
    }
  }

  /**
   * A container or string length: a count, or -1 for indefinite length. A count the bytes left
   * could not hold (at `minItemBytes` each) fails now, before anything is allocated for it.
   */
  length(info: number, start: number, minItemBytes: number): number {
    if (info === 31) return -1;
    const n = this.argument(info, start);
    if (typeof n === 'bigint' || n * minItemBytes > this.end - this.pos) {
      this.fail(`a length of ${n} overruns the payload`, start);
    }
    return n;
  }

  checkDepth(depth: number, start: number): void {
    if (depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`, start);
  }

  /** Counts one map entry or string chunk against the limit. */
  countEntry(start: number): void {
    if (++this.entries > this.limits.maxEntries)
      this.fail(`more than ${this.limits.maxEntries} entries`, start);
  }

  /** Reads one scalar data item: a number, boolean, string, or a tag over one. */
  readScalar(depth: number): CborScalar {
    const start = this.pos;
    this.checkDepth(depth, start);
    const initial = this.next();
    const info = initial & 0x1f;
    switch (initial >> 5) {
      case UNSIGNED:
        return { kind: 'integer', value: this.argument(info, start) };
      case NEGATIVE: {
        const n = this.argument(info, start);
        return { kind: 'integer', value: typeof n === 'bigint' ? normalizeInteger(-1n - n) : -1 - n };
      }
      case BYTES:
        // A copy, so the value neither pins nor sees later changes to the payload.
        return { kind: 'bytes', value: this.string(BYTES, info, start).slice() };
      case TEXT:
        return { kind: 'text', value: this.text(info, start) };
      case TAG:
        return this.tagged(this.argument(info, start), start, depth);
      case SIMPLE:
        return this.simple(info, start);
      default:
        return this.fail('a map or an array cannot be a resource value', start);
    }
  }

  /**
   * The value of one scalar data item without its kind: what {@link readScalar} gives as `value`.
   * Small integers, definite text, float64 and booleans (most SenML values) are read here without
   * the scalar object; anything else goes through readScalar.
   */
  readValue(depth: number): number | bigint | boolean | string | Uint8Array {
    const start = this.pos;
    this.checkDepth(depth, start);
    const initial = this.peek();
    const info = initial & 0x1f;
    switch (initial >> 5) {
      case UNSIGNED:
        if (info < 24) {
          this.pos++;
          return info;
        }
        break;
      case NEGATIVE:
        if (info < 24) {
          this.pos++;
          return -1 - info;
        }
        break;
      case TEXT:
        if (info !== 31) {
          this.pos++;
          return this.text(info, start);
        }
        break;
      case SIMPLE:
        if (info === 27 || info === 26) {
          this.pos++;
          return this.float(info);
        }
        if (info === 20 || info === 21) {
          this.pos++;
          return info === 21;
        }
        break;
    }
    return this.readScalar(depth).value;
  }

  /** Skips one data item of any kind (an unknown SenML field), within the depth and entry limits. */
  skipItem(depth: number): void {
    const start = this.pos;
    this.checkDepth(depth, start);
    const initial = this.peek();
    const info = initial & 0x1f;
    switch (initial >> 5) {
      case ARRAY:
      case MAP: {
        this.pos++;
        const perEntry = initial >> 5 === MAP ? 2 : 1;
        const count = this.length(info, start, perEntry);
        for (let i = 0; count < 0 || i < count; i++) {
          if (count < 0 && this.peek() === BREAK) {
            this.pos++;
            return;
          }
          this.countEntry(this.pos);
          for (let k = 0; k < perEntry; k++) this.skipItem(depth + 1);
        }
        return;
      }
      case TAG:
        this.pos++;
        this.argument(info, start);
        this.skipItem(depth + 1);
        return;
      case SIMPLE:
        // Simple values such as null are fine to skip; floats are read; reserved codes and a stray break fail.
        if (info < 24) {
          this.pos++;
          return;
        }
        if (info === 24) {
          this.pos++;
          this.need(1);
          this.pos++;
          return;
        }
        this.readScalar(depth);
        return;
      default:
        this.readScalar(depth);
    }
  }

  /** The content of a byte or text string; a view on the payload when its length is definite. */
  private string(major: number, info: number, start: number): Uint8Array {
    if (info !== 31) {
      const length = this.length(info, start, 1);
      const value = this.bytes.subarray(this.pos, this.pos + length);
      this.pos += length;
      return value;
    }
    // Indefinite length: definite chunks of the same major type until a break (RFC 8949 §3.2.3).
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunkStart = this.pos;
      const head = this.next();
      if (head === BREAK) break;
      if (head >> 5 !== major || (head & 0x1f) === 31)
        this.fail('bad chunk in an indefinite-length string', chunkStart);
      this.countEntry(chunkStart);
      const chunk = this.string(major, head & 0x1f, chunkStart);
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

  /** A text string whose head (`info`) is read; strict UTF-8. */
  text(info: number, start: number): string {
    if (info !== 31) {
      const length = this.length(info, start, 1);
      const bytes = this.bytes;
      const pos = this.pos;
      if (length <= SHORT_TEXT) {
        // Most LwM2M text is short ASCII: cheaper to build directly, four chars a call, than
        // through TextDecoder (measured).
        let s = '';
        let i = 0;
        for (; i + 4 <= length; i += 4) {
          const a = bytes[pos + i] as number;
          const b = bytes[pos + i + 1] as number;
          const c = bytes[pos + i + 2] as number;
          const d = bytes[pos + i + 3] as number;
          if ((a | b | c | d) > 0x7f) break;
          s += String.fromCharCode(a, b, c, d);
        }
        // The last one to three chars in one call: short names (`6/0`) are all remainder.
        const rest = length - i;
        if (rest > 0 && i + 4 > length) {
          const a = bytes[pos + i] as number;
          const b = rest > 1 ? (bytes[pos + i + 1] as number) : 0;
          const c = rest > 2 ? (bytes[pos + i + 2] as number) : 0;
          if ((a | b | c) <= 0x7f) {
            s +=
              rest === 1
                ? String.fromCharCode(a)
                : rest === 2
                  ? String.fromCharCode(a, b)
                  : String.fromCharCode(a, b, c);
            i = length;
          }
        }
        if (i === length) {
          this.pos = pos + length;
          return s;
        }
      }
      this.pos = pos + length;
      return this.utf8(bytes.subarray(pos, pos + length), start);
    }
    return this.utf8(this.string(TEXT, info, start), start);
  }

  private utf8(bytes: Uint8Array, start: number): string {
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('text string is not valid UTF-8', start);
    }
  }

  private tagged(tag: number | bigint, start: number, depth: number): CborScalar {
    if (tag === TAG_DECIMAL_FRACTION) return this.decimalFraction(start, depth);
    const inner = this.readScalar(depth + 1);
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

  /** Tag 4 `[exponent, mantissa]` = mantissa × 10^exponent (RFC 8949 §3.4.4): Leshan writes SenML times so. */
  private decimalFraction(start: number, depth: number): CborScalar {
    const head = this.next();
    if (head !== ((ARRAY << 5) | 2)) this.fail('tag 4 must hold a two-element array', start);
    const exponent = this.readScalar(depth + 1);
    const mantissa = this.readScalar(depth + 1);
    if (exponent.kind !== 'integer' || mantissa.kind !== 'integer')
      this.fail('tag 4 must hold two integers', start);
    if (typeof exponent.value === 'bigint' || Math.abs(exponent.value) > MAX_DECIMAL_EXPONENT) {
      this.fail('decimal fraction exponent out of range', start);
    }
    const m = Number(mantissa.value);
    // Dividing by a power of ten is exact where multiplying by its (inexact) reciprocal is not.
    const value = exponent.value < 0 ? m / 10 ** -exponent.value : m * 10 ** exponent.value;
    return { kind: 'float', value };
  }

  /** The float after a head of major type 7 with additional information 25, 26 or 27. */
  private float(info: 25 | 26 | 27): number {
    const pos = this.pos;
    switch (info) {
      case 25:
        this.need(2);
        this.pos += 2;
        return halfToNumber(this.view.getUint16(pos));
      case 26:
        this.need(4);
        this.pos += 4;
        return this.view.getFloat32(pos);
      case 27:
        this.need(8);
        this.pos += 8;
        return this.view.getFloat64(pos);
    }
  }

  private simple(info: number, start: number): CborScalar {
    switch (info) {
      case 20:
        return { kind: 'boolean', value: false };
      case 21:
        return { kind: 'boolean', value: true };
      case 22:
        // TS Core 1.2 uses null in Write-Composite to delete a resource instance; a node has no
        // way to say "remove", so it is refused rather than silently dropped.
        return this.fail('null (a Write-Composite removal) is not supported', start);
      case 25:
      case 26:
      case 27:
        return { kind: 'float', value: this.float(info) };
      case 31:
        return this.fail('unexpected break', start);
      default:
        return this.fail(`simple value ${info} is not a resource value`, start);
    }
  }
}

/** The resource type a value has when the model does not say (as Leshan guesses it). */
export function guessType(item: CborScalar): ResourceType {
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

function mismatch(item: CborScalar, type: ResourceType, format: number): never {
  throw new DecodeError(`CBOR ${item.kind} cannot be the value of a ${type} resource`, { format });
}

/** Converts a scalar to the value form of `type`; throws {@link DecodeError} when it does not fit. */
export function scalarToValue(item: CborScalar, type: ResourceType, format: number): ResourceValue {
  switch (type) {
    case 'string':
    case 'corelnk':
      return item.kind === 'text' ? item.value : mismatch(item, type, format);
    case 'integer':
    case 'unsigned':
    case 'float':
      // A peer may write a whole float as an integer or the reverse; the model decides.
      if (item.kind !== 'integer' && item.kind !== 'float') return mismatch(item, type, format);
      // Plain numbers that fit as they are (the common case) skip numberToTyped's range checks.
      if (
        typeof item.value === 'number' &&
        (type === 'float' || (item.kind === 'integer' && (type === 'integer' || item.value >= 0)))
      )
        return item.value;
      return numberToTyped(type, item.value, format);
    case 'boolean':
      return item.kind === 'boolean' ? item.value : mismatch(item, type, format);
    case 'opaque':
      return item.kind === 'bytes' ? item.value : mismatch(item, type, format);
    case 'time':
      if (item.kind === 'epoch' || item.kind === 'integer' || item.kind === 'float') {
        return numberToTyped('time', item.value, format);
      }
      if (item.kind === 'dateTime') {
        const ms = DATE_TIME.test(item.value) ? Date.parse(item.value) : Number.NaN;
        if (Number.isNaN(ms))
          throw new DecodeError(`CBOR: bad date-time ${JSON.stringify(item.value)}`, { format });
        return numberToTyped('time', Math.floor(ms / 1000), format);
      }
      return mismatch(item, type, format);
    case 'objlnk': {
      const link = item.kind === 'text' ? parseObjectLink(item.value) : undefined;
      return link ?? mismatch(item, type, format);
    }
    case 'none':
      return mismatch(item, type, format);
  }
}
