import { RECORD_HEADER_LENGTH, TLS12_CID, writeRecordHeader } from './record-cipher.js';

export { RECORD_HEADER_LENGTH };

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  /** A protected record carrying a connection id; the real type is inside (RFC 9146 §4). */
  tls12Cid: TLS12_CID,
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
  /** The connection id of a tls12_cid record (a view into the datagram). */
  readonly cid?: Uint8Array;
}

/**
 * Splits a datagram into records (RFC 6347 §4.1: several records may share one datagram). A
 * malformed record ends parsing: what follows it cannot be framed, and invalid records are
 * dropped silently, so the records before it are still returned. tls12_cid records are framed
 * only when `cidLength` (the length of the CID we issued) is given: the header does not say it.
 */
export function parseRecords(datagram: Uint8Array, cidLength = 0): DtlsRecord[] {
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
    if (type === TLS12_CID) {
      if (cidLength === 0 || datagram.length - at < RECORD_HEADER_LENGTH + cidLength) break;
      const header = RECORD_HEADER_LENGTH + cidLength;
      const length = (datagram[at + header - 2]! << 8) | datagram[at + header - 1]!;
      const end = at + header + length;
      if (version >>> 8 !== 0xfe || length > MAX_CIPHERTEXT_LENGTH || end > datagram.length) break;
      const cid = datagram.subarray(at + 11, at + 11 + cidLength);
      records.push({ type, version, epoch, seq, fragment: datagram.subarray(at + header, end), cid });
      at = end;
      continue;
    }
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
