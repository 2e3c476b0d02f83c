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
import { ContentFormat, DecodeError, EncodeError, MAX_ID, formatObjectLink, formatPath } from '@lwm2m/core';
import type { ObjectInstanceNode, ObjectLink, ResourceType, ResourceValue } from '@lwm2m/core';
import { ARRAY, BREAK, BYTES, CborReader, MAP, NEGATIVE, TEXT, UNSIGNED } from './cbor-reader.js';
import { CborWriter } from './cbor-writer.js';
import {
  CBOR_FIELD_NAMES,
  CBOR_LABELS,
  RECORD_FIELDS,
  checkUnknownField,
  clearRecord,
  compositeKeyPath,
  formattedKey,
  nodeRecords,
  createSenmlFormat,
  newRecord,
  setRecordField,
} from './senml-records.js';
import type { RecordWriter, SenmlRecord } from './senml-records.js';
import type { RecordSink } from './senml-resolver.js';
import type { CodecContext, CompositeFormat, CompositeNodes, TimestampedFormat } from './types.js';
import { checkValue, timeToSeconds } from './value-types.js';

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
      // The fields every LwM2M record has, when their value is what it should be (short text, a
      // small integer or a float64), are stored straight; anything else goes the general way.
      const value = reader.peek();
      if (value >= 0x60 && value < 0x78) {
        if (head === 0x00) {
          reader.pos++;
          record.n = reader.text(value & 0x1f, reader.pos - 1);
          continue;
        }
        if (head === 0x03) {
          reader.pos++;
          record.vs = reader.text(value & 0x1f, reader.pos - 1);
          continue;
        }
        if (head === 0x21) {
          reader.pos++;
          record.bn = reader.text(value & 0x1f, reader.pos - 1);
          continue;
        }
      } else if (head === 0x02 && (value < 0x18 || value === 0xfb)) {
        record.v = reader.readValue(2) as number;
        continue;
      }
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

/** Heads of the record maps written straight from nodes: with a base name and without. */
const MAP_OF_3 = (MAP << 5) | 3;
const MAP_OF_2 = (MAP << 5) | 2;
/** The one-byte key of `bn` (label -2). */
const BN_KEY = (NEGATIVE << 5) | (-1 - CBOR_LABELS.bn);

/** Writes a resource value under its SenML label, as {@link setRecordValue} and {@link writeRecord} would. */
function writeValueField(w: CborWriter, type: ResourceType, value: ResourceValue): void {
  checkValue(type, value, FORMAT);
  switch (type) {
    case 'string':
    case 'corelnk':
      w.byte(CBOR_LABELS.vs);
      w.text(value as string);
      return;
    case 'integer':
    case 'unsigned':
    case 'float':
      w.byte(CBOR_LABELS.v);
      writeNumber(w, value as number | bigint);
      return;
    case 'time':
      w.byte(CBOR_LABELS.v);
      writeNumber(w, timeToSeconds(value as Date));
      return;
    case 'boolean':
      w.byte(CBOR_LABELS.vb);
      w.byte(value ? 0xf5 : 0xf4);
      return;
    case 'opaque':
      w.byte(CBOR_LABELS.vd);
      w.string(BYTES, value as Uint8Array);
      return;
    case 'objlnk':
      w.text('vlo');
      w.text(formatObjectLink(value as ObjectLink));
      return;
    case 'none':
      // checkValue has thrown already.
      throw new EncodeError('an executable resource carries no value', { format: FORMAT });
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

  /** The record of one value under its own base name, written straight from the value. */
  value(baseName: string, type: ResourceType, value: ResourceValue): void {
    const w = this.w;
    w.byte(MAP_OF_2);
    w.byte(BN_KEY);
    w.text(baseName);
    writeValueField(w, type, value);
    this.count++;
  }

  finish(): Uint8Array {
    this.w.prependHead(ARRAY, this.count);
    return this.w.finish();
  }
}

function isId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= MAX_ID;
}

/**
 * The records of an object instance written straight from its resources, byte for byte what the
 * record path writes (base name `/3/0/` on the first record, then `n` relative to it): an
 * instance is what most Reads answer, and skipping the record objects and name strings saves
 * much of the cost of writing it. Undefined for an id out of range, which the record path writes
 * as it is.
 */
function encodeInstance(instance: ObjectInstanceNode, base: string): Uint8Array | undefined {
  const w = new CborWriter(512, ARRAY_HEAD_ROOM);
  let count = 0;
  for (const resource of instance.resources.values()) {
    const rid = resource.id;
    if (!isId(rid)) return undefined;
    if (resource.kind === 'resource') {
      if (count === 0) {
        w.byte(MAP_OF_3);
        w.byte(BN_KEY);
        w.text(base);
      } else w.byte(MAP_OF_2);
      w.byte(CBOR_LABELS.n);
      w.idsText(rid, -1);
      writeValueField(w, resource.type, resource.value);
      count++;
      continue;
    }
    for (const [riid, value] of resource.instances) {
      if (!isId(riid)) return undefined;
      if (count === 0) {
        w.byte(MAP_OF_3);
        w.byte(BN_KEY);
        w.text(base);
      } else w.byte(MAP_OF_2);
      w.byte(CBOR_LABELS.n);
      w.idsText(rid, riid);
      writeValueField(w, resource.type, value);
      count++;
    }
  }
  w.prependHead(ARRAY, count);
  return w.finish();
}

/**
 * A composite payload; a value at its own path (most composites hold nothing else) is written
 * straight, byte for byte what the record path writes for it.
 */
function encodeComposite(nodes: CompositeNodes): Uint8Array {
  const writer = new CborRecordWriter();
  for (const [key, node] of nodes) {
    const path = compositeKeyPath(key, FORMAT);
    if (
      ((node.kind === 'resource' && path.length === 3) ||
        (node.kind === 'resourceInstance' && path.length === 4)) &&
      node.id === path[path.length - 1]
    ) {
      writer.value(formattedKey(key) ?? formatPath(path), node.type, node.value);
    } else {
      nodeRecords(node, path, FORMAT, writer);
    }
  }
  return writer.finish();
}

const general = createSenmlFormat(FORMAT, readRecords, () => new CborRecordWriter());

export const senmlCborFormat: CompositeFormat & TimestampedFormat = {
  ...general,
  encode(node, path, context) {
    if (node.kind === 'objectInstance' && path.length === 2 && node.id === path[1]) {
      const payload = encodeInstance(node, `${formatPath(path)}/`);
      if (payload !== undefined) return payload;
    }
    return general.encode(node, path, context);
  },
  encodeComposite,
};
