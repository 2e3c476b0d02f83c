/**
 * application/senml+cbor (content format 112, RFC 8428 §6 and LwM2M TS Core §7.4.5): a CBOR array
 * of maps keyed by the SenML integer labels (bn -2, bt -3, n 0, v 2, vs 3, vb 4, t 6, vd 8), with
 * LwM2M's object link under the text key `vlo`. Read and written with cbor-x.
 *
 * Reading accepts what peers send: any integer width, floats of every size, bignums (tags 2/3),
 * decimal fractions (tag 4, which Leshan writes for times), and text keys for the named fields.
 * cbor-x does not take indefinite-length strings and does not reject invalid UTF-8 in text; both
 * are outside what LwM2M clients send.
 *
 * Writing: integers beyond 32 bits are handed to cbor-x as bigints so they go out as CBOR integers
 * (cbor-x writes large JS numbers as doubles); other numbers as cbor-x chooses (floats as 64-bit).
 * A float resource's -0 is written as 0 because cbor-x writes integral numbers as integers.
 */
import { ContentFormat, DecodeError } from '@lwm2m/core';
import { Decoder, Encoder } from 'cbor-x';
import { CBOR_FIELD_NAMES, CBOR_LABELS, createSenmlFormat, setRecordField } from './senml-records.js';
import type { SenmlRecord } from './senml-records.js';
import type { CodecContext, CompositeFormat, TimestampedFormat } from './types.js';

const FORMAT = ContentFormat.SENML_CBOR;

// Configuration only: with records and shared structures off, neither instance keeps state between calls.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

function decodeCbor(payload: Uint8Array): unknown {
  try {
    return decoder.decode(payload);
  } catch (error) {
    // cbor-x throws plain Errors (and RangeError on hostile nesting); report them all as ours.
    const reason = error instanceof Error ? error.message : String(error);
    throw new DecodeError(`invalid CBOR: ${reason}`, { format: FORMAT, cause: error });
  }
}

function readRecords(payload: Uint8Array, context: CodecContext): SenmlRecord[] {
  const cbor = decodeCbor(payload);
  if (!Array.isArray(cbor))
    throw new DecodeError('a SenML CBOR payload must be an array of records', { format: FORMAT });
  if (cbor.length > context.limits.maxEntries) {
    throw new DecodeError(`${cbor.length} SenML records exceed the limit of ${context.limits.maxEntries}`, {
      format: FORMAT,
    });
  }
  const records: SenmlRecord[] = new Array<SenmlRecord>(cbor.length);
  for (let i = 0; i < cbor.length; i++) {
    const item: unknown = cbor[i];
    if (!(item instanceof Map)) throw new DecodeError(`SenML record ${i} is not a map`, { format: FORMAT });
    const record: SenmlRecord = {};
    for (const [key, value] of item as Map<unknown, unknown>) {
      if (typeof key === 'number') {
        const name = CBOR_FIELD_NAMES.get(key);
        if (name !== undefined) setRecordField(record, name, value, FORMAT);
      } else if (typeof key === 'string') {
        setRecordField(record, key, value, FORMAT);
      } else {
        throw new DecodeError(`SenML record ${i} has a key that is neither a label nor text`, {
          format: FORMAT,
        });
      }
    }
    records[i] = record;
  }
  return records;
}

/** A number as cbor-x should write it: integers outside 32 bits as bigints so they stay integers. */
function cborNumber(n: number | bigint): number | bigint {
  if (typeof n === 'number' && Number.isInteger(n) && (n > 0xffffffff || n < -0x100000000)) {
    return Number.isSafeInteger(n) ? BigInt(n) : n;
  }
  return n;
}

function toCborMap(r: SenmlRecord): Map<number | string, unknown> {
  const m = new Map<number | string, unknown>();
  if (r.bn !== undefined) m.set(CBOR_LABELS.bn, r.bn);
  if (r.bt !== undefined) m.set(CBOR_LABELS.bt, cborNumber(r.bt));
  if (r.n !== undefined) m.set(CBOR_LABELS.n, r.n);
  if (r.t !== undefined) m.set(CBOR_LABELS.t, cborNumber(r.t));
  if (r.v !== undefined) m.set(CBOR_LABELS.v, cborNumber(r.v));
  if (r.vs !== undefined) m.set(CBOR_LABELS.vs, r.vs);
  if (r.vb !== undefined) m.set(CBOR_LABELS.vb, r.vb);
  // A Buffer view, which cbor-x writes as a plain byte string (a bare Uint8Array would get tag 64).
  if (r.vd !== undefined) m.set(CBOR_LABELS.vd, Buffer.from(r.vd.buffer, r.vd.byteOffset, r.vd.byteLength));
  if (r.vlo !== undefined) m.set('vlo', r.vlo);
  return m;
}

function writeRecords(records: readonly SenmlRecord[]): Uint8Array {
  const items = new Array<Map<number | string, unknown>>(records.length);
  for (let i = 0; i < records.length; i++) items[i] = toCborMap(records[i] as SenmlRecord);
  // cbor-x hands out a view of a buffer it reuses for later calls: copy.
  return new Uint8Array(encoder.encode(items));
}

export const senmlCborFormat: CompositeFormat & TimestampedFormat = createSenmlFormat(
  FORMAT,
  readRecords,
  writeRecords,
);
