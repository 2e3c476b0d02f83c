import type { CoapMessage, CoapOption } from './message.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

/** Option numbers (RFC 7252 §12.2, 7641, 7959, 8613, 8768, 9175, 7967). */
export const CoapOptionNumber = {
  IF_MATCH: 1,
  URI_HOST: 3,
  ETAG: 4,
  IF_NONE_MATCH: 5,
  OBSERVE: 6,
  URI_PORT: 7,
  LOCATION_PATH: 8,
  OSCORE: 9,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  HOP_LIMIT: 16,
  ACCEPT: 17,
  LOCATION_QUERY: 20,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  PROXY_URI: 35,
  PROXY_SCHEME: 39,
  SIZE1: 60,
  ECHO: 252,
  NO_RESPONSE: 258,
  REQUEST_TAG: 292,
} as const;

const N = CoapOptionNumber;

/** Options this endpoint understands; any other critical option in a request earns a 4.02. */
const KNOWN_OPTIONS: ReadonlySet<number> = new Set<number>([
  N.IF_MATCH,
  N.URI_HOST,
  N.ETAG,
  N.IF_NONE_MATCH,
  N.OBSERVE,
  N.URI_PORT,
  N.LOCATION_PATH,
  N.URI_PATH,
  N.CONTENT_FORMAT,
  N.MAX_AGE,
  N.URI_QUERY,
  N.ACCEPT,
  N.LOCATION_QUERY,
  N.BLOCK2,
  N.BLOCK1,
  N.SIZE2,
  N.SIZE1,
  N.NO_RESPONSE,
  N.REQUEST_TAG,
]);

/** RFC 7252 §5.4.6: odd numbers are critical. */
export function isCriticalOption(number: number): boolean {
  return (number & 1) === 1;
}

/** RFC 7252 §5.4.6: bit 1 marks an option a proxy must understand. */
export function isUnsafeOption(number: number): boolean {
  return (number & 2) === 2;
}

/** RFC 7252 §5.4.6: options with bits 1-4 = 0b1110 are not part of the cache key. */
export function isNoCacheKeyOption(number: number): boolean {
  return (number & 0x1e) === 0x1c;
}

/** The first critical option we do not understand, if any (RFC 7252 §5.4.1). */
export function firstUnknownCriticalOption(options: readonly CoapOption[]): number | undefined {
  for (let i = 0; i < options.length; i++) {
    const number = options[i]!.number;
    if (isCriticalOption(number) && !KNOWN_OPTIONS.has(number)) return number;
  }
  return undefined;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** An unsigned integer option value in the fewest bytes (0 is the empty value, RFC 7252 §3.2). */
export function encodeUint(value: number): Uint8Array {
  if (value === 0) return EMPTY;
  if (value < 0x100) return Uint8Array.of(value);
  if (value < 0x10000) return Uint8Array.of(value >> 8, value & 0xff);
  if (value < 0x1000000) return Uint8Array.of(value >> 16, (value >> 8) & 0xff, value & 0xff);
  return Uint8Array.of((value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

/** Reads an unsigned integer option of up to 4 bytes (leading zero bytes are tolerated). */
export function decodeUint(value: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < value.length; i++) result = result * 256 + value[i]!;
  return result;
}

export function uintOption(number: number, value: number): CoapOption {
  return { number, value: encodeUint(value) };
}

export function stringOption(number: number, value: string): CoapOption {
  return { number, value: encodeUtf8(value) };
}

export function findOption(options: readonly CoapOption[], number: number): CoapOption | undefined {
  for (let i = 0; i < options.length; i++) {
    if (options[i]!.number === number) return options[i];
  }
  return undefined;
}

export function hasOption(options: readonly CoapOption[], number: number): boolean {
  return findOption(options, number) !== undefined;
}

/** A uint option's value, or undefined when absent or longer than 4 bytes (malformed). */
export function getUintOption(options: readonly CoapOption[], number: number): number | undefined {
  const option = findOption(options, number);
  if (option === undefined || option.value.length > 4) return undefined;
  return decodeUint(option.value);
}

/** All values of a repeatable string option (Uri-Path, Uri-Query, Location-Path...), in order. */
export function getStringOptions(options: readonly CoapOption[], number: number): string[] {
  const values: string[] = [];
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    if (option.number === number) values.push(decodeUtf8(option.value));
  }
  return values;
}

export function uriPath(message: CoapMessage): string[] {
  return getStringOptions(message.options, N.URI_PATH);
}

export function uriQuery(message: CoapMessage): string[] {
  return getStringOptions(message.options, N.URI_QUERY);
}

/** `/rd/5a3f` or `rd/5a3f` → `['rd', '5a3f']`; `/` and `` → `[]`. Segments are not decoded. */
export function splitPath(path: string | readonly string[]): readonly string[] {
  if (typeof path !== 'string') return path;
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  return trimmed === '' ? [] : trimmed.split('/');
}

/** `a=1&b` → `['a=1', 'b']`. */
export function splitQuery(query: string | readonly string[]): readonly string[] {
  if (typeof query !== 'string') return query;
  const trimmed = query.startsWith('?') ? query.slice(1) : query;
  return trimmed === '' ? [] : trimmed.split('&');
}

/** Appends one option per segment (string options are UTF-8). */
export function pushStringOptions(out: CoapOption[], number: number, values: readonly string[]): void {
  for (let i = 0; i < values.length; i++) out.push(stringOption(number, values[i]!));
}

/** Copies options except those whose number is listed. */
export function withoutOptions(options: readonly CoapOption[], numbers: readonly number[]): CoapOption[] {
  const out: CoapOption[] = [];
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    if (!numbers.includes(option.number)) out.push(option);
  }
  return out;
}
