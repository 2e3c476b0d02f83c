/**
 * application/vnd.oma.lwm2m+json (content format 11543, 1543 before registration; LwM2M TS Core
 * 1.0 §6.4.4): `{"bn":"/3/0/","bt":…,"e":[{"n":"0","sv":"…"},{"n":"6/0","v":1}]}` with `v` numbers
 * (integer, float, time), `sv` strings (opaque as base64), `bv` booleans, `ov` object links and
 * `t` times. Its entries are draft-SenML records, so they are resolved by the SenML record model:
 * the root `bn`/`bt` act as the base of every entry.
 *
 * Times are absolute (bt + t), as Leshan reads them: this format predates SenML's rule that small
 * times are relative to now. Writing follows Leshan: the node's path as `bn`, names relative to it,
 * and for timestamped data an absolute `t` on every entry.
 */
import { ContentFormat, DecodeError, EncodeError, formatObjectLink, isPathPrefix } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectLink, PathLevel, ResourceType, ResourceValue } from '@lwm2m/core';
import { parseJson } from './json-reader.js';
import type { JsonValue } from './json-reader.js';
import { jsonNumber } from './senml-json.js';
import {
  baseNameFor,
  clearRecord,
  compositeKeyPath,
  nodeToEntriesChecked,
  relativeName,
  newRecord,
  setRecordField,
} from './senml-records.js';
import { EntrySink, NodeSink, buildTimestamped } from './senml-resolver.js';
import type { RecordSink } from './senml-resolver.js';
import type { CodecContext, FlatEntry, NodeFormat, TimestampedFormat, TimestampedNodes } from './types.js';
import { checkValue, timeToSeconds, valueToText } from './value-types.js';

const FORMAT = ContentFormat.JSON;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>([
  'object',
  'objectInstance',
  'resource',
  'resourceInstance',
]);

/** LwM2M JSON entry fields and the SenML fields they stand for. */
const ENTRY_FIELDS: ReadonlyMap<string, string> = new Map([
  ['n', 'n'],
  ['t', 't'],
  ['v', 'v'],
  ['sv', 'vs'],
  ['bv', 'vb'],
  ['ov', 'vlo'],
]);

const utf8Encoder = new TextEncoder();

function decodeError(message: string): DecodeError {
  return new DecodeError(message, { format: FORMAT });
}

function readRecords(payload: Uint8Array, context: CodecContext, sink: RecordSink): void {
  const json = parseJson(payload, context.limits, FORMAT);
  if (!(json instanceof Map)) throw decodeError('an LwM2M JSON payload must be an object');
  const entries: JsonValue | undefined = json.get('e');
  if (!Array.isArray(entries)) throw decodeError('an LwM2M JSON payload needs an "e" array');
  if (entries.length > context.limits.maxEntries) {
    throw decodeError(
      `${entries.length} LwM2M JSON entries exceed the limit of ${context.limits.maxEntries}`,
    );
  }
  const bn = json.get('bn');
  const bt = json.get('bt');
  const record = newRecord();
  for (let i = 0; i < entries.length; i++) {
    const item = entries[i];
    if (!(item instanceof Map)) throw decodeError(`LwM2M JSON entry ${i} is not an object`);
    clearRecord(record);
    if (i === 0) {
      if (bn !== undefined) setRecordField(record, 'bn', bn, FORMAT);
      if (bt !== undefined) setRecordField(record, 'bt', bt, FORMAT);
    }
    for (const [name, value] of item) {
      const field = ENTRY_FIELDS.get(name);
      if (field !== undefined) setRecordField(record, field, value, FORMAT);
    }
    sink.record(record);
  }
}

/** LwM2M JSON times are absolute (no `now`), and opaque values are base64 text in `sv`. */
const RESOLVE_OPTIONS = { format: FORMAT, opaqueAsText: true } as const;

/** The `"field":value` text of a typed value. */
function valueField(type: ResourceType, value: ResourceValue): string {
  checkValue(type, value, FORMAT);
  switch (type) {
    case 'string':
    case 'corelnk':
      return '"sv":' + JSON.stringify(value);
    case 'opaque':
      return '"sv":"' + valueToText(type, value, FORMAT) + '"';
    case 'integer':
    case 'unsigned':
    case 'float':
      return '"v":' + jsonNumber(value as number | bigint, FORMAT);
    case 'time':
      return '"v":' + String(timeToSeconds(value as Date));
    case 'boolean':
      return value ? '"bv":true' : '"bv":false';
    case 'objlnk':
      return '"ov":"' + formatObjectLink(value as ObjectLink) + '"';
    case 'none':
      throw new EncodeError('an executable resource carries no value', { format: FORMAT });
  }
}

function writePayload(entries: readonly FlatEntry[], path: Lwm2mPath): Uint8Array {
  const base = baseNameFor(entries, path);
  let s = '{"bn":' + JSON.stringify(base) + ',"e":[';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as FlatEntry;
    if (i > 0) s += ',';
    s += '{';
    const n = relativeName(e.path, path.length);
    if (n !== undefined) s += '"n":' + JSON.stringify(n) + ',';
    s += valueField(e.type, e.value);
    if (e.time !== undefined) s += ',"t":' + jsonNumber(e.time, FORMAT);
    s += '}';
  }
  return utf8Encoder.encode(s + ']}');
}

function timestampedEntries(data: readonly TimestampedNodes[], path: Lwm2mPath): FlatEntry[] {
  const out: FlatEntry[] = [];
  for (const { time, nodes } of data) {
    if (time !== undefined && !Number.isFinite(time))
      throw new EncodeError(`time ${time} is not finite`, { format: FORMAT });
    for (const [key, node] of nodes) {
      const nodePath = compositeKeyPath(key, FORMAT);
      if (!isPathPrefix(path, nodePath))
        throw new EncodeError(`node at ${key} is not below the target path`, { format: FORMAT });
      for (const e of nodeToEntriesChecked(node, nodePath, FORMAT))
        out.push(time === undefined ? e : { ...e, time });
    }
  }
  return out;
}

export const jsonFormat: NodeFormat & TimestampedFormat = {
  id: FORMAT,
  levels: LEVELS,
  encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
    return writePayload(nodeToEntriesChecked(node, path, FORMAT), path);
  },
  decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
    const sink = new NodeSink(path, context.registry, RESOLVE_OPTIONS);
    readRecords(payload, context, sink);
    return sink.node();
  },
  encodeTimestamped(data: readonly TimestampedNodes[], path: Lwm2mPath): Uint8Array {
    return writePayload(timestampedEntries(data, path), path);
  },
  decodeTimestamped(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): TimestampedNodes[] {
    const sink = new EntrySink(context.registry, RESOLVE_OPTIONS);
    readRecords(payload, context, sink);
    return buildTimestamped(sink.entries, path, context.registry, FORMAT);
  },
};
