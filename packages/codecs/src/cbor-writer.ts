/**
 * A growable output buffer writing CBOR (RFC 8949) items in their shortest form, shared by the
 * CBOR formats. Integers beyond 32 bits stay integers (cbor-x would write them as float64) and
 * byte strings carry no tag.
 */
import { EncodeError, formatObjectLink } from '@lwm2m/core';
import type { ObjectLink, ResourceType, ResourceValue } from '@lwm2m/core';
import { BYTES, NEGATIVE, TAG, TAG_EPOCH, TEXT, UNSIGNED } from './cbor-reader.js';
import { checkValue, timeToSeconds } from './value-types.js';

const utf8Encoder = new TextEncoder();

export class CborWriter {
  // A Buffer from Node's pool: a fresh Uint8Array above 64 bytes costs a separate backing store
  // (several hundred ns, measured), pooled memory a fraction of that. Buffer's own write methods
  // spare a DataView per payload.
  private bytes: Buffer;
  private pos: number;
  /** Where the output starts: after room kept free for {@link prependHead}. */
  private start: number;

  /**
   * `size`: a first guess of the output length; the buffer grows as needed. `headroom`: bytes kept
   * free before the output for the head of an outer item whose length is known only at the end.
   */
  constructor(size = 256, headroom = 0) {
    this.bytes = Buffer.allocUnsafe(size + headroom);
    this.pos = headroom;
    this.start = headroom;
  }

  private reserve(count: number): void {
    if (this.pos + count <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + count) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    bigger.set(this.bytes.subarray(0, this.pos));
    this.bytes = bigger;
  }

  head(major: number, argument: number | bigint): void {
    this.reserve(9);
    const bytes = this.bytes;
    const pos = this.pos;
    if (argument < 24) {
      bytes[pos] = (major << 5) | Number(argument);
      this.pos = pos + 1;
    } else if (argument <= 0xff) {
      bytes[pos] = (major << 5) | 24;
      bytes[pos + 1] = Number(argument);
      this.pos = pos + 2;
    } else if (argument <= 0xffff) {
      bytes[pos] = (major << 5) | 25;
      bytes.writeUInt16BE(Number(argument), pos + 1);
      this.pos = pos + 3;
    } else if (argument <= 0xffffffff) {
      bytes[pos] = (major << 5) | 26;
      bytes.writeUInt32BE(Number(argument), pos + 1);
      this.pos = pos + 5;
    } else {
      bytes[pos] = (major << 5) | 27;
      bytes.writeBigUInt64BE(BigInt(argument), pos + 1);
      this.pos = pos + 9;
    }
  }

  integer(value: number | bigint): void {
    if (value < 0) this.head(NEGATIVE, typeof value === 'bigint' ? -1n - value : -1 - value);
    else this.head(UNSIGNED, value);
  }

  float(value: number): void {
    this.reserve(9);
    const pos = this.pos;
    if (Number.isNaN(value) || value === Infinity || value === -Infinity) {
      // Half precision says these exactly in 3 bytes.
      this.bytes[pos] = 0xf9;
      this.bytes.writeUInt16BE(Number.isNaN(value) ? 0x7e00 : value > 0 ? 0x7c00 : 0xfc00, pos + 1);
      this.pos = pos + 3;
    } else if (Math.fround(value) === value) {
      this.bytes[pos] = 0xfa;
      this.bytes.writeFloatBE(value, pos + 1);
      this.pos = pos + 5;
    } else {
      this.bytes[pos] = 0xfb;
      this.bytes.writeDoubleBE(value, pos + 1);
      this.pos = pos + 9;
    }
  }

  /** A float64, whatever the value (SenML CBOR writes non-integral numbers so, as cbor-x did). */
  float64(value: number): void {
    this.reserve(9);
    this.bytes[this.pos] = 0xfb;
    this.bytes.writeDoubleBE(value, this.pos + 1);
    this.pos += 9;
  }

  /** A text string; ASCII (most LwM2M text) is copied without an intermediate buffer. */
  text(value: string): void {
    const length = value.length;
    let ascii = true;
    for (let i = 0; i < length; i++) {
      if (value.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      this.string(TEXT, utf8Encoder.encode(value));
      return;
    }
    this.head(TEXT, length);
    this.reserve(length);
    const bytes = this.bytes;
    const pos = this.pos;
    for (let i = 0; i < length; i++) bytes[pos + i] = value.charCodeAt(i);
    this.pos = pos + length;
  }

  /**
   * The text `id` or `id/second` (second >= 0) for ids 0..65535, digits written straight into the
   * buffer: a SenML name relative to a base name, without making the string.
   */
  idsText(id: number, second: number): void {
    const first = digitCount(id);
    const length = second < 0 ? first : first + 1 + digitCount(second);
    this.reserve(length + 1);
    const bytes = this.bytes;
    let pos = this.pos;
    bytes[pos++] = (TEXT << 5) | length;
    pos = writeDigits(bytes, pos, id, first);
    if (second >= 0) {
      bytes[pos++] = 0x2f;
      pos = writeDigits(bytes, pos, second, digitCount(second));
    }
    this.pos = pos;
  }

  string(major: number, content: Uint8Array): void {
    this.head(major, content.byteLength);
    this.reserve(content.byteLength);
    this.bytes.set(content, this.pos);
    this.pos += content.byteLength;
  }

  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.pos++] = value;
  }

  /**
   * Writes a head before everything written so far, in the headroom: the array of SenML records,
   * counted as they are written. Fails when the headroom is too small for it.
   */
  prependHead(major: number, argument: number): void {
    const size =
      argument < 24 ? 1 : argument <= 0xff ? 2 : argument <= 0xffff ? 3 : argument <= 0xffffffff ? 5 : 9;
    if (size > this.start) throw new EncodeError(`no room for a head of ${size} bytes`);
    const end = this.pos;
    this.pos = this.start - size;
    this.head(major, argument);
    this.start -= size;
    this.pos = end;
  }

  finish(): Uint8Array {
    // A plain Uint8Array over the written bytes, without a copy. Like any small Buffer, it shares
    // its ArrayBuffer with other pooled allocations: callers must use byteOffset/byteLength.
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.start, this.pos - this.start);
  }
}

/** Decimal digits of an id (0..65535). */
function digitCount(id: number): number {
  return id < 10 ? 1 : id < 100 ? 2 : id < 1000 ? 3 : id < 10000 ? 4 : 5;
}

/** Writes the `count` decimal digits of `n` at `pos`; gives the position after them. */
function writeDigits(bytes: Uint8Array, pos: number, n: number, count: number): number {
  for (let i = count - 1; i >= 0; i--) {
    bytes[pos + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return pos + count;
}

/**
 * Writes a resource value as CBOR 60 and LwM2M CBOR carry it (what Leshan writes): integers as
 * major types 0/1, floats in the shortest exact width, time as tag 1 over whole seconds, objlnk as
 * the text `3:0`, opaque as a byte string. Checks the value against its type first.
 */
export function writeResourceValue(
  w: CborWriter,
  type: ResourceType,
  value: ResourceValue,
  format: number,
): void {
  checkValue(type, value, format);
  switch (type) {
    case 'string':
    case 'corelnk':
      w.text(value as string);
      return;
    case 'integer':
    case 'unsigned':
      w.integer(value as number | bigint);
      return;
    case 'float':
      w.float(value as number);
      return;
    case 'boolean':
      w.byte(value ? 0xf5 : 0xf4);
      return;
    case 'opaque':
      w.string(BYTES, value as Uint8Array);
      return;
    case 'time':
      w.head(TAG, TAG_EPOCH);
      w.integer(timeToSeconds(value as Date));
      return;
    case 'objlnk':
      w.text(formatObjectLink(value as ObjectLink));
      return;
    case 'none':
      // checkValue has thrown already.
      throw new EncodeError('an executable resource carries no value', { format });
  }
}
