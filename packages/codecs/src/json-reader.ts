/**
 * A small bounded JSON (RFC 8259) reader for the JSON formats (SenML JSON 110, LwM2M JSON 11543),
 * used instead of JSON.parse: it enforces the depth and size limits while parsing (not after
 * building a huge tree), rejects duplicate keys, and keeps integers beyond 2^53 exact as bigints, so
 * int64/uint64 resources survive (JSON.parse would round them to doubles). Strings are unescaped by
 * JSON.parse on the string token alone.
 */
import { DecodeError } from '@lwm2m/core';
import type { DecodeLimits } from './types.js';
import { normalizeInteger } from './value-types.js';

/** A parsed JSON value: objects as Maps (no prototype keys), exact integers beyond 2^53 as bigints. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

/**
 * JSON values a payload may hold per allowed entry: a record is an object with a handful of
 * fields, so this bounds work and memory while leaving room for unknown fields.
 */
const VALUES_PER_ENTRY = 16;

/** Integer tokens with more digits may not be exact as doubles. */
const SAFE_INTEGER_DIGITS = 15;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

interface JsonCursor {
  readonly text: string;
  pos: number;
  /** Values left before the payload is too large. */
  budget: number;
  readonly maxDepth: number;
  readonly format: number;
}

function fail(c: JsonCursor, message: string): never {
  throw new DecodeError(`invalid JSON: ${message} at offset ${c.pos}`, { format: c.format, offset: c.pos });
}

function skipWhitespace(c: JsonCursor): void {
  const text = c.text;
  let pos = c.pos;
  for (;;) {
    const ch = text.charCodeAt(pos);
    if (ch !== 0x20 && ch !== 0x0a && ch !== 0x0d && ch !== 0x09) break;
    pos++;
  }
  c.pos = pos;
}

function expectChar(c: JsonCursor, code: number, what: string): void {
  skipWhitespace(c);
  if (c.text.charCodeAt(c.pos) !== code) fail(c, `expected ${what}`);
  c.pos++;
}

function readString(c: JsonCursor): string {
  const text = c.text;
  const start = c.pos; // at the opening quote
  let pos = start + 1;
  let escaped = false;
  for (;;) {
    const ch = text.charCodeAt(pos);
    if (ch === 0x22) break;
    if (Number.isNaN(ch)) {
      c.pos = pos;
      fail(c, 'unterminated string');
    }
    if (ch < 0x20) {
      c.pos = pos;
      fail(c, 'control character in string');
    }
    if (ch === 0x5c) {
      escaped = true;
      pos += 2;
    } else {
      pos++;
    }
  }
  c.pos = pos + 1;
  if (!escaped) return text.slice(start + 1, pos);
  try {
    return JSON.parse(text.slice(start, pos + 1)) as string;
  } catch {
    c.pos = start;
    return fail(c, 'bad escape in string');
  }
}

function isDigit(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

function readNumber(c: JsonCursor): number | bigint {
  const text = c.text;
  const start = c.pos;
  let pos = start;
  if (text.charCodeAt(pos) === 0x2d) pos++;
  const first = text.charCodeAt(pos);
  if (first === 0x30) {
    pos++;
  } else if (isDigit(first)) {
    while (isDigit(text.charCodeAt(pos))) pos++;
  } else {
    c.pos = pos;
    fail(c, 'bad number');
  }
  let integral = true;
  if (text.charCodeAt(pos) === 0x2e) {
    integral = false;
    pos++;
    if (!isDigit(text.charCodeAt(pos))) {
      c.pos = pos;
      fail(c, 'bad fraction');
    }
    while (isDigit(text.charCodeAt(pos))) pos++;
  }
  const e = text.charCodeAt(pos);
  if (e === 0x65 || e === 0x45) {
    integral = false;
    pos++;
    const sign = text.charCodeAt(pos);
    if (sign === 0x2b || sign === 0x2d) pos++;
    if (!isDigit(text.charCodeAt(pos))) {
      c.pos = pos;
      fail(c, 'bad exponent');
    }
    while (isDigit(text.charCodeAt(pos))) pos++;
  }
  c.pos = pos;
  const token = text.slice(start, pos);
  if (integral && token.length > SAFE_INTEGER_DIGITS) return normalizeInteger(BigInt(token));
  const n = Number(token);
  if (!Number.isFinite(n)) fail(c, `number ${token} out of range`);
  return n;
}

function readLiteral<T>(c: JsonCursor, word: string, value: T): T {
  if (!c.text.startsWith(word, c.pos)) fail(c, 'unexpected token');
  c.pos += word.length;
  return value;
}

function readValue(c: JsonCursor, depth: number): JsonValue {
  if (--c.budget < 0) fail(c, 'too many values');
  skipWhitespace(c);
  const ch = c.text.charCodeAt(c.pos);
  switch (ch) {
    case 0x7b: // {
      if (depth >= c.maxDepth) fail(c, `nesting deeper than ${c.maxDepth}`);
      return readObject(c, depth + 1);
    case 0x5b: // [
      if (depth >= c.maxDepth) fail(c, `nesting deeper than ${c.maxDepth}`);
      return readArray(c, depth + 1);
    case 0x22:
      return readString(c);
    case 0x74:
      return readLiteral(c, 'true', true);
    case 0x66:
      return readLiteral(c, 'false', false);
    case 0x6e:
      return readLiteral(c, 'null', null);
    default:
      if (Number.isNaN(ch)) fail(c, 'unexpected end');
      return readNumber(c);
  }
}

function readObject(c: JsonCursor, depth: number): JsonObject {
  c.pos++; // {
  const out: JsonObject = new Map();
  skipWhitespace(c);
  if (c.text.charCodeAt(c.pos) === 0x7d) {
    c.pos++;
    return out;
  }
  for (;;) {
    skipWhitespace(c);
    if (c.text.charCodeAt(c.pos) !== 0x22) fail(c, 'expected a string key');
    const key = readString(c);
    if (out.has(key)) fail(c, `duplicate key ${JSON.stringify(key)}`);
    expectChar(c, 0x3a, '":"');
    out.set(key, readValue(c, depth));
    skipWhitespace(c);
    const next = c.text.charCodeAt(c.pos++);
    if (next === 0x7d) return out;
    if (next !== 0x2c) {
      c.pos--;
      fail(c, 'expected "," or "}"');
    }
  }
}

function readArray(c: JsonCursor, depth: number): JsonValue[] {
  c.pos++; // [
  const out: JsonValue[] = [];
  skipWhitespace(c);
  if (c.text.charCodeAt(c.pos) === 0x5d) {
    c.pos++;
    return out;
  }
  for (;;) {
    out.push(readValue(c, depth));
    skipWhitespace(c);
    const next = c.text.charCodeAt(c.pos++);
    if (next === 0x5d) return out;
    if (next !== 0x2c) {
      c.pos--;
      fail(c, 'expected "," or "]"');
    }
  }
}

/**
 * Parses a UTF-8 JSON payload within `limits` (depth; at most {@link VALUES_PER_ENTRY} values per
 * allowed entry). Every problem is a {@link DecodeError} carrying `format`.
 */
export function parseJson(payload: Uint8Array, limits: DecodeLimits, format: number): JsonValue {
  let text: string;
  try {
    text = utf8Decoder.decode(payload);
  } catch (error) {
    throw new DecodeError('payload is not valid UTF-8', { format, cause: error });
  }
  const c: JsonCursor = {
    text,
    pos: 0,
    budget: limits.maxEntries * VALUES_PER_ENTRY + 1,
    maxDepth: limits.maxDepth,
    format,
  };
  const value = readValue(c, 0);
  skipWhitespace(c);
  if (c.pos !== text.length) fail(c, 'trailing characters');
  return value;
}
