/**
 * application/senml+cbor (content format 112, RFC 8428 §6 and LwM2M TS Core §7.4.5): a CBOR array
 * of maps keyed by the SenML integer labels (bn -2, bt -3, n 0, v 2, vs 3, vb 4, t 6, vd 8), with
 * LwM2M's object link under the text key `vlo`.
 *
 * Records are read and written directly with this package's CBOR reader and writer (cbor-reader.ts
 * says why not cbor-x), with no intermediate maps. Reading accepts what peers send: any integer
 * width, floats of every size, bignums (tags 2/3), decimal fractions (tag 4, which Leshan writes
 * for times), indefinite lengths, text keys for the named fields, and unknown fields of any shape
 * (skipped unless their name ends in `_`). Text must be valid UTF-8.
 *
 * Writing keeps the bytes cbor-x wrote before: integers in their shortest form (beyond 32 bits
 * too), other numbers as float64.
 */
import { ContentFormat, DecodeError } from '@lwm2m/core';
import { ARRAY, BREAK, BYTES, CborReader, MAP, NEGATIVE, TEXT, UNSIGNED } from './cbor-reader.js';
import { CborWriter } from './cbor-writer.js';
import {
  CBOR_FIELD_NAMES,
  CBOR_LABELS,
  RECORD_FIELDS,
  checkUnknownField,
  clearRecord,
  createSenmlFormat,
  newRecord,
  setRecordField,
} from './senml-records.js';
import type { RecordWriter, SenmlRecord } from './senml-records.js';
import type { RecordSink } from './senml-resolver.js';
import type { CodecContext, CompositeFormat, TimestampedFormat } from './types.js';

const FORMAT = ContentFormat.SENML_CBOR;

function recordError(message: string): DecodeError {
  return new DecodeError(message, { format: FORMAT });
}

/**
 * The field each one-byte key head names (labels -24..23 fit in the head byte), for the fields the
 * record model reads: the common case needs neither the label's value nor a lookup by it.
 */
const FIELD_BY_HEAD: readonly (string | undefined)[] = (() => {
  const table = new Array<string | undefined>(0x40).fill(undefined);
  for (const [name, label] of Object.entries(CBOR_LABELS)) {
    if (RECORD_FIELDS.has(name)) table[label >= 0 ? label : (NEGATIVE << 5) | (-1 - label)] = name;
  }
  return table;
})();

/** The name of the field a key stands for: a label (RFC 8428 Table 6) or a text key such as `vlo`. */
function readFieldName(reader: CborReader, index: number): string | undefined {
  const start = reader.pos;
  const head = reader.next();
  const major = head >> 5;
  if (major === UNSIGNED || major === NEGATIVE) {
    const n = reader.argument(head & 0x1f, start);
    // Labels are small; a huge one is simply not a field we know.
    if (typeof n === 'bigint') return undefined;
    return CBOR_FIELD_NAMES.get(major === UNSIGNED ? n : -1 - n);
  }
  if (major === TEXT) return reader.text(head & 0x1f, start);
  throw recordError(`SenML record ${index} has a key that is neither a label nor text`);
}

/** Reads one record map (its head already read) into `record`, which is empty. */
function readRecord(
  reader: CborReader,
  info: number,
  start: number,
  index: number,
  record: SenmlRecord,
): void {
  const count = reader.length(info, start, 2);
  for (let i = 0; count < 0 || i < count; i++) {
    if (count < 0 && reader.peek() === BREAK) {
      reader.pos++;
      break;
    }
    reader.countEntry(reader.pos);
    const head = reader.peek();
    if (head < 0x40 && (head & 0x1f) < 24) {
      reader.pos++;
      const field = FIELD_BY_HEAD[head];
      if (field === undefined) reader.skipItem(2);
      else setRecordField(record, field, reader.readValue(2), FORMAT);
      continue;
    }
    const name = readFieldName(reader, index);
    if (name !== undefined && RECORD_FIELDS.has(name)) {
      setRecordField(record, name, reader.readValue(2), FORMAT);
    } else {
      if (name !== undefined) checkUnknownField(name, FORMAT);
      reader.skipItem(2);
    }
  }
}

function readRecords(payload: Uint8Array, context: CodecContext, sink: RecordSink): void {
  const limit = context.limits.maxEntries;
  const reader = new CborReader(payload, context.limits, FORMAT, 'invalid CBOR: ');
  if (payload.byteLength === 0) reader.fail('empty payload');
  const head = reader.next();
  if (head >> 5 !== ARRAY) throw recordError('a SenML CBOR payload must be an array of records');
  const count = reader.length(head & 0x1f, 0, 1);
  if (count > limit) throw recordError(`${count} SenML records exceed the limit of ${limit}`);
  const record = newRecord();
  for (let i = 0; count < 0 || i < count; i++) {
    const start = reader.pos;
    const initial = reader.next();
    if (count < 0) {
      if (initial === BREAK) break;
      if (i >= limit) throw recordError(`more than ${limit} SenML records exceed the limit of ${limit}`);
    }
    if (initial >> 5 !== MAP) throw recordError(`SenML record ${i} is not a map`);
    clearRecord(record);
    readRecord(reader, initial & 0x1f, start, i, record);
    sink.record(record);
  }
  reader.expectEnd('the records');
}

/**
 * Writes a number as cbor-x did, so payloads stay byte for byte what peers' tests expect: safe
 * integers as CBOR integers in their shortest form, everything else (fractions, NaN, numbers
 * beyond 2^53) as float64. A float resource's -0 thus goes out as the integer 0.
 */
function writeNumber(w: CborWriter, n: number | bigint): void {
  if (typeof n === 'bigint' || Number.isSafeInteger(n)) w.integer(n);
  else w.float64(n);
}

function writeRecord(w: CborWriter, r: SenmlRecord): void {
  const size =
    (r.bn === undefined ? 0 : 1) +
    (r.bt === undefined ? 0 : 1) +
    (r.n === undefined ? 0 : 1) +
    (r.t === undefined ? 0 : 1) +
    (r.v === undefined ? 0 : 1) +
    (r.vs === undefined ? 0 : 1) +
    (r.vb === undefined ? 0 : 1) +
    (r.vd === undefined ? 0 : 1) +
    (r.vlo === undefined ? 0 : 1);
  w.head(MAP, size);
  if (r.bn !== undefined) {
    w.integer(CBOR_LABELS.bn);
    w.text(r.bn);
  }
  if (r.bt !== undefined) {
    w.integer(CBOR_LABELS.bt);
    writeNumber(w, r.bt);
  }
  if (r.n !== undefined) {
    w.integer(CBOR_LABELS.n);
    w.text(r.n);
  }
  if (r.t !== undefined) {
    w.integer(CBOR_LABELS.t);
    writeNumber(w, r.t);
  }
  if (r.v !== undefined) {
    w.integer(CBOR_LABELS.v);
    writeNumber(w, r.v);
  }
  if (r.vs !== undefined) {
    w.integer(CBOR_LABELS.vs);
    w.text(r.vs);
  }
  if (r.vb !== undefined) {
    w.integer(CBOR_LABELS.vb);
    w.byte(r.vb ? 0xf5 : 0xf4);
  }
  if (r.vd !== undefined) {
    w.integer(CBOR_LABELS.vd);
    w.string(BYTES, r.vd);
  }
  if (r.vlo !== undefined) {
    w.text('vlo');
    w.text(r.vlo);
  }
}

/** The largest head of the records array: up to 2^32 - 1 records, far beyond any payload. */
const ARRAY_HEAD_ROOM = 5;

/** Writes records as they come; the array head goes in front at the end, once they are counted. */
class CborRecordWriter implements RecordWriter {
  private readonly w = new CborWriter(512, ARRAY_HEAD_ROOM);
  private count = 0;

  record(r: SenmlRecord): void {
    writeRecord(this.w, r);
    this.count++;
  }

  finish(): Uint8Array {
    this.w.prependHead(ARRAY, this.count);
    return this.w.finish();
  }
}

export const senmlCborFormat: CompositeFormat & TimestampedFormat = createSenmlFormat(
  FORMAT,
  readRecords,
  () => new CborRecordWriter(),
);
