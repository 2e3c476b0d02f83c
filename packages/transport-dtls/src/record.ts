import { RECORD_HEADER_LENGTH, writeRecordHeader } from './record-cipher.js';

export { RECORD_HEADER_LENGTH };

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;

export const DTLS_1_2 = 0xfefd;
export const DTLS_1_0 = 0xfeff;
/** 2^14 plaintext + 2048 expansion (RFC 5246 §6.2.3); longer records are invalid. */
export const MAX_CIPHERTEXT_LENGTH = 16384 + 2048;
export const MAX_PLAINTEXT_LENGTH = 16384;

/** One record as read from a datagram; `fragment` is a view into the datagram, not a copy. */
export interface DtlsRecord {
  readonly type: number;
  readonly version: number;
  readonly epoch: number;
  readonly seq: number;
  readonly fragment: Uint8Array;
}

/**
 * Splits a datagram into records (RFC 6347 §4.1: several records may share one datagram). A
 * malformed record ends parsing: what follows it cannot be framed, and invalid records are
 * dropped silently, so the records before it are still returned.
 */
export function parseRecords(datagram: Uint8Array): DtlsRecord[] {
  const records: DtlsRecord[] = [];
  let at = 0;
  while (datagram.length - at >= RECORD_HEADER_LENGTH) {
    const type = datagram[at]!;
    const version = (datagram[at + 1]! << 8) | datagram[at + 2]!;
    const epoch = (datagram[at + 3]! << 8) | datagram[at + 4]!;
    const seq =
      ((datagram[at + 5]! << 8) | datagram[at + 6]!) * 0x100000000 +
      (((datagram[at + 7]! << 24) |
        (datagram[at + 8]! << 16) |
        (datagram[at + 9]! << 8) |
        datagram[at + 10]!) >>>
        0);
    const length = (datagram[at + 11]! << 8) | datagram[at + 12]!;
    const end = at + RECORD_HEADER_LENGTH + length;
    if (type < ContentType.changeCipherSpec || type > ContentType.applicationData) break;
    if (version >>> 8 !== 0xfe || length > MAX_CIPHERTEXT_LENGTH || end > datagram.length) break;
    records.push({ type, version, epoch, seq, fragment: datagram.subarray(at + RECORD_HEADER_LENGTH, end) });
    at = end;
  }
  return records;
}

/** Writes one record (header + already protected fragment). */
export function serializeRecord(
  type: number,
  version: number,
  epoch: number,
  seq: number,
  fragment: Uint8Array,
): Uint8Array {
  const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + fragment.length);
  writeRecordHeader(out, type, version, epoch, seq, fragment.length);
  out.set(fragment, RECORD_HEADER_LENGTH);
  return out;
}
