/**
 * Conversions between typed resource values ({@link ResourceValue}) and what the formats carry:
 * text (text/plain rules of LwM2M TS Core §7.3.1), plain numbers from binary formats, and checks
 * that a value fits its resource type. Shared by every codec.
 *
 * Functions that read a payload throw {@link DecodeError}; functions that check what a caller
 * wants to send throw {@link EncodeError}. Both take an optional content-format number that ends
 * up on the error.
 */
import {
  DecodeError,
  EncodeError,
  formatObjectLink,
  formatPath,
  isObjectLink,
  parseObjectLink,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectLink,
  ObjectRegistry,
  ResourceInstance,
  ResourceType,
  ResourceValue,
  SingleResource,
} from '@lwm2m/core';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;
/** Largest magnitude of a time value, in seconds (ECMAScript Dates span ±8.64e15 ms). */
export const MAX_TIME_SECONDS = 8.64e12;

const INTEGER_TEXT = /^[+-]?[0-9]+$/;
const UNSIGNED_TEXT = /^\+?[0-9]+$/;
// Unambiguous alternatives, so a long non-matching input cannot make the regex backtrack.
const FLOAT_TEXT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
/** Longer decimal text cannot be an int64/uint64 (20 digits, a sign, some leading zeros). */
const MAX_INTEGER_TEXT = 40;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeError(message: string, format: number | undefined): DecodeError {
  return new DecodeError(message, format === undefined ? {} : { format });
}

function encodeError(message: string, format: number | undefined): EncodeError {
  return new EncodeError(message, format === undefined ? {} : { format });
}

/**
 * The ResourceValue form of a whole number: a number when it is a safe integer, else the bigint.
 * Callers check the range.
 */
export function normalizeInteger(n: bigint): number | bigint {
  return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
}

/** Seconds since the epoch of a time value, rounded down to whole seconds. */
export function timeToSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The Date of a whole number of seconds since the epoch. */
export function secondsToTime(seconds: number): Date {
  return new Date(seconds * 1000);
}

/**
 * The JS type a value most likely has when nothing says (e.g. a caller writes a resource the model
 * does not know): whole numbers are integers, other numbers floats, bigints above int64 unsigned.
 */
export function inferType(value: ResourceValue): ResourceType {
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'float';
    case 'bigint':
      return value > INT64_MAX ? 'unsigned' : 'integer';
    case 'boolean':
      return 'boolean';
    default:
      if (value instanceof Uint8Array) return 'opaque';
      if (value instanceof Date) return 'time';
      if (isObjectLink(value)) return 'objlnk';
      throw new EncodeError(`cannot infer a resource type for ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function isIntegerIn(value: unknown, min: bigint, max: bigint): boolean {
  if (typeof value === 'number') {
    // Unsafe whole numbers are not exact; the caller should hand a bigint instead.
    return Number.isSafeInteger(value) && (min === 0n ? value >= 0 : true);
  }
  return typeof value === 'bigint' && value >= min && value <= max;
}

function isValidObjectLink(value: unknown): value is ObjectLink {
  return (
    isObjectLink(value) &&
    Number.isInteger(value.objectId) &&
    Number.isInteger(value.instanceId) &&
    value.objectId >= 0 &&
    value.objectId <= 0xffff &&
    value.instanceId >= 0 &&
    value.instanceId <= 0xffff
  );
}

/**
 * Throws {@link EncodeError} unless `value` is the ResourceValue form of `type`: integer = safe
 * integer number or int64 bigint, unsigned = non-negative safe integer or uint64 bigint, float =
 * number, time = valid Date, objlnk = ids 0..65535, string/corelnk = string, opaque = Uint8Array.
 * An executable (`none`) has no value.
 */
export function checkValue(
  type: ResourceType,
  value: unknown,
  format?: number,
): asserts value is ResourceValue {
  let ok: boolean;
  switch (type) {
    case 'string':
    case 'corelnk':
      ok = typeof value === 'string';
      break;
    case 'integer':
      ok = isIntegerIn(value, INT64_MIN, INT64_MAX);
      break;
    case 'unsigned':
      ok = isIntegerIn(value, 0n, UINT64_MAX);
      break;
    case 'float':
      ok = typeof value === 'number';
      break;
    case 'boolean':
      ok = typeof value === 'boolean';
      break;
    case 'opaque':
      ok = value instanceof Uint8Array;
      break;
    case 'time':
      ok = value instanceof Date && Number.isFinite(value.getTime());
      break;
    case 'objlnk':
      ok = isValidObjectLink(value);
      break;
    case 'none':
      throw encodeError('an executable resource (type none) carries no value', format);
  }
  if (!ok) throw encodeError(`${describe(value)} ${String(value)} is not a valid ${type} value`, format);
}

/**
 * The text/plain form of a value: decimal integers and seconds, `0`/`1` booleans, `3:0` object
 * links, base64 opaque. Floats use JS number formatting (exponent only beyond 1e21 / below 1e-6,
 * which peers' strtod/Double.parseDouble read). Checks the value first.
 */
export function valueToText(type: ResourceType, value: ResourceValue, format?: number): string {
  checkValue(type, value, format);
  switch (type) {
    case 'string':
    case 'corelnk':
      return value as string;
    case 'integer':
    case 'unsigned':
      return String(value);
    case 'float':
      if (!Number.isFinite(value)) throw encodeError(`float ${String(value)} has no text form`, format);
      // String(-0) is "0"; keep the sign so the value survives a round trip.
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'opaque': {
      const bytes = value as Uint8Array;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    }
    case 'time':
      return String(timeToSeconds(value as Date));
    case 'objlnk':
      return formatObjectLink(value as ObjectLink);
    case 'none':
      // checkValue has thrown already.
      throw encodeError('an executable resource carries no value', format);
  }
}

/** Parses a decimal integer within [min, max]; undefined when malformed or out of range. */
function parseInteger(text: string, pattern: RegExp, min: bigint, max: bigint): number | bigint | undefined {
  if (text.length > MAX_INTEGER_TEXT || !pattern.test(text)) return undefined;
  const n = BigInt(text);
  return n < min || n > max ? undefined : normalizeInteger(n);
}

/**
 * Reads the text/plain form of a value of `type`. Lenient where peers differ (a leading `+`,
 * `true`/`false` for booleans, float exponents); strict on range. Throws {@link DecodeError}.
 */
export function valueFromText(type: ResourceType, text: string, format?: number): ResourceValue {
  switch (type) {
    case 'string':
    case 'corelnk':
      return text;
    case 'integer': {
      const n = parseInteger(text, INTEGER_TEXT, INT64_MIN, INT64_MAX);
      if (n === undefined) throw decodeError(`${JSON.stringify(text)} is not an int64 integer`, format);
      return n;
    }
    case 'unsigned': {
      const n = parseInteger(text, UNSIGNED_TEXT, 0n, UINT64_MAX);
      if (n === undefined)
        throw decodeError(`${JSON.stringify(text)} is not a uint64 unsigned integer`, format);
      return n;
    }
    case 'float': {
      if (!FLOAT_TEXT.test(text))
        throw decodeError(`${JSON.stringify(text)} is not a decimal number`, format);
      return Number(text);
    }
    case 'boolean':
      if (text === '1' || text === 'true') return true;
      if (text === '0' || text === 'false') return false;
      throw decodeError(`${JSON.stringify(text)} is not a boolean (0 or 1)`, format);
    case 'opaque':
      if (!BASE64_TEXT.test(text) || text.length % 4 === 1) {
        throw decodeError('opaque text is not base64', format);
      }
      return new Uint8Array(Buffer.from(text, 'base64'));
    case 'time': {
      const n = parseInteger(text, INTEGER_TEXT, -BigInt(MAX_TIME_SECONDS), BigInt(MAX_TIME_SECONDS));
      if (n === undefined) throw decodeError(`${JSON.stringify(text)} is not a time in seconds`, format);
      return secondsToTime(Number(n));
    }
    case 'objlnk': {
      const link = parseObjectLink(text);
      if (!link) throw decodeError(`${JSON.stringify(text)} is not an object link (e.g. 3:0)`, format);
      return link;
    }
    case 'none':
      throw decodeError('an executable resource (type none) carries no value', format);
  }
}

/**
 * The ResourceValue of a number decoded from a binary format, for a numeric resource type:
 * integer (int64) and unsigned (uint64) must be whole; time is seconds (fractions rounded down);
 * float takes any number. Throws {@link DecodeError} when the number does not fit or the type is
 * not numeric.
 */
export function numberToTyped(type: ResourceType, n: number | bigint, format?: number): ResourceValue {
  switch (type) {
    case 'integer':
    case 'unsigned': {
      if (typeof n === 'number' && !Number.isInteger(n)) {
        throw decodeError(`${n} is not a whole number for an ${type} resource`, format);
      }
      const big = typeof n === 'bigint' ? n : BigInt(n);
      const min = type === 'integer' ? INT64_MIN : 0n;
      const max = type === 'integer' ? INT64_MAX : UINT64_MAX;
      if (big < min || big > max) throw decodeError(`${big} is out of range for an ${type} resource`, format);
      return typeof n === 'number' && Number.isSafeInteger(n) ? n : normalizeInteger(big);
    }
    case 'float':
      return typeof n === 'number' ? n : Number(n);
    case 'time': {
      const seconds = typeof n === 'number' ? Math.floor(n) : n;
      if (
        (typeof seconds === 'number' && !(Math.abs(seconds) <= MAX_TIME_SECONDS)) ||
        (typeof seconds === 'bigint' &&
          (seconds > BigInt(MAX_TIME_SECONDS) || seconds < -BigInt(MAX_TIME_SECONDS)))
      ) {
        throw decodeError(`${n} is out of range for a time resource`, format);
      }
      return secondsToTime(Number(seconds));
    }
    default:
      throw decodeError(`a number cannot be the value of a ${type} resource`, format);
  }
}

/**
 * The node a single-value format (text, opaque, CBOR) must be given: a single resource at a
 * resource path or a resource instance at a resource-instance path, with the id of the path's last
 * segment. Throws {@link EncodeError} otherwise.
 */
export function expectSingleValue(
  node: Lwm2mNode,
  path: Lwm2mPath,
  format: number,
): SingleResource | ResourceInstance {
  const fits =
    (node.kind === 'resource' && path.length === 3) ||
    (node.kind === 'resourceInstance' && path.length === 4);
  if (!fits) {
    throw new EncodeError(
      `content format ${format} carries one resource value; got a ${node.kind} at ${formatPath(path)}`,
      {
        format,
      },
    );
  }
  if (path[path.length - 1] !== node.id) {
    throw new EncodeError(`node id ${node.id} does not match path ${formatPath(path)}`, { format });
  }
  return node as SingleResource | ResourceInstance;
}

/**
 * The model's type for the single value a text/opaque/CBOR payload carries at `path`, after
 * checking the path addresses one value: a resource (not one the model calls multiple) or a
 * resource instance. Undefined when the model does not know the resource.
 */
export function singleValueType(
  path: Lwm2mPath,
  registry: ObjectRegistry,
  format: number,
): ResourceType | undefined {
  if (path.length !== 3 && path.length !== 4) {
    throw new DecodeError(`content format ${format} carries one resource value, not ${formatPath(path)}`, {
      format,
    });
  }
  const definition = registry.getResource(path[0] as number, path[2] as number);
  if (definition?.multiple === true && path.length === 3) {
    throw new DecodeError(
      `content format ${format} cannot carry the multiple-instance resource ${formatPath(path)}`,
      {
        format,
      },
    );
  }
  if (definition?.type === 'none') {
    throw new DecodeError(`executable resource ${formatPath(path)} carries no value`, { format });
  }
  return definition?.type;
}

/** The node for one decoded value at a resource or resource-instance path. */
export function singleValueNode(
  path: Lwm2mPath,
  type: ResourceType,
  value: ResourceValue,
): SingleResource | ResourceInstance {
  const id = path[path.length - 1] as number;
  return path.length === 4 ? resourceInstance(id, type, value) : singleResource(id, type, value);
}
