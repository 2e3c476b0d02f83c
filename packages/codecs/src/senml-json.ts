/**
 * application/senml+json (content format 110, RFC 8428 §5 and LwM2M TS Core §7.4.4): a JSON array
 * of SenML records, `vd` as base64url without padding, object links as `vlo`.
 *
 * JSON is read by the bounded reader of json-reader.ts (exact int64, duplicate keys refused).
 */
import { ContentFormat, DecodeError, EncodeError } from '@lwm2m/core';
import { parseJson } from './json-reader.js';
import { clearRecord, createSenmlFormat, newRecord, setRecordField } from './senml-records.js';
import type { RecordWriter, SenmlRecord } from './senml-records.js';
import type { RecordSink } from './senml-resolver.js';
import type { CodecContext, CompositeFormat, TimestampedFormat } from './types.js';

const FORMAT = ContentFormat.SENML_JSON;
const utf8Encoder = new TextEncoder();

/** The JSON text of a number: exact integers (bigint too), `-0` kept; NaN and infinities have none. */
export function jsonNumber(n: number | bigint, format: number): string {
  if (typeof n === 'bigint') return n.toString();
  if (!Number.isFinite(n)) throw new EncodeError(`JSON cannot carry the number ${n}`, { format });
  return Object.is(n, -0) ? '-0' : String(n);
}

// ---------------------------------------------------------------------------------------------
// SenML JSON records

function readRecords(payload: Uint8Array, context: CodecContext, sink: RecordSink): void {
  const json = parseJson(payload, context.limits, FORMAT);
  if (!Array.isArray(json))
    throw new DecodeError('a SenML JSON payload must be an array of records', { format: FORMAT });
  if (json.length > context.limits.maxEntries) {
    throw new DecodeError(`${json.length} SenML records exceed the limit of ${context.limits.maxEntries}`, {
      format: FORMAT,
    });
  }
  const record = newRecord();
  for (let i = 0; i < json.length; i++) {
    const item = json[i];
    if (!(item instanceof Map))
      throw new DecodeError(`SenML record ${i} is not an object`, { format: FORMAT });
    clearRecord(record);
    for (const [name, value] of item) setRecordField(record, name, value, FORMAT);
    sink.record(record);
  }
}

function writeRecord(r: SenmlRecord): string {
  // Each field is written with a leading comma; the first one is dropped at the end.
  let s = '';
  if (r.bn !== undefined) s += ',"bn":' + JSON.stringify(r.bn);
  if (r.bt !== undefined) s += ',"bt":' + jsonNumber(r.bt, FORMAT);
  if (r.n !== undefined) s += ',"n":' + JSON.stringify(r.n);
  if (r.t !== undefined) s += ',"t":' + jsonNumber(r.t, FORMAT);
  if (r.v !== undefined) s += ',"v":' + jsonNumber(r.v, FORMAT);
  if (r.vs !== undefined) s += ',"vs":' + JSON.stringify(r.vs);
  if (r.vb !== undefined) s += r.vb ? ',"vb":true' : ',"vb":false';
  if (r.vd !== undefined)
    s += ',"vd":"' + Buffer.from(r.vd.buffer, r.vd.byteOffset, r.vd.byteLength).toString('base64url') + '"';
  if (r.vlo !== undefined) s += ',"vlo":' + JSON.stringify(r.vlo);
  return '{' + s.slice(1) + '}';
}

/** Writes records as they come into the JSON text of the array. */
class JsonRecordWriter implements RecordWriter {
  private text = '';

  record(r: SenmlRecord): void {
    this.text += (this.text.length === 0 ? '[' : ',') + writeRecord(r);
  }

  finish(): Uint8Array {
    return utf8Encoder.encode(this.text.length === 0 ? '[]' : this.text + ']');
  }
}

export const senmlJsonFormat: CompositeFormat & TimestampedFormat = createSenmlFormat(
  FORMAT,
  readRecords,
  () => new JsonRecordWriter(),
);
