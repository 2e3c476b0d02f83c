/**
 * Record protection for one direction of one epoch. `sealRecord` turns a plaintext fragment into
 * a whole record (13-byte header, then the protected fragment) in one buffer; `open` reverses the
 * protection of a fragment and returns undefined when the record does not authenticate (such
 * records are dropped silently). Both are synchronous, so an instance may reuse scratch buffers.
 */
export interface RecordCipher {
  /** Largest number of bytes protection adds to a plaintext. */
  readonly overhead: number;
  /**
   * With a `cid` (RFC 9146), `type` is tls12_cid, `plaintext` the DTLSInnerPlaintext, the header
   * carries the CID and the additional data is the CID form of §5.
   */
  sealRecord(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
    cid?: Uint8Array,
  ): Uint8Array;
  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
    cid?: Uint8Array,
  ): Uint8Array | undefined;
}

/** Record content type of a record with a connection id (RFC 9146 §4). */
export const TLS12_CID = 25;

/** The record header with a connection id: type 25, version, epoch, sequence, cid, length. */
export function writeCidRecordHeader(
  out: Uint8Array,
  version: number,
  epoch: number,
  seq: number,
  cid: Uint8Array,
  length: number,
): number {
  out[0] = TLS12_CID;
  out[1] = version >>> 8;
  out[2] = version & 0xff;
  writeEpochSeq(out, 3, epoch, seq);
  out.set(cid, 11);
  out[11 + cid.length] = length >>> 8;
  out[12 + cid.length] = length & 0xff;
  return RECORD_HEADER_LENGTH + cid.length;
}

/**
 * RFC 9146 §5: seq_num_placeholder (8 x 0xff), tls12_cid, cid_length, tls12_cid, version, epoch,
 * sequence_number, cid, length_of_DTLSInnerPlaintext. For the CBC suites the MAC covers this
 * followed by the inner plaintext, exactly as the 13-byte form is followed by the content.
 */
export function cidAdditionalData(
  version: number,
  epoch: number,
  seq: number,
  cid: Uint8Array,
  length: number,
): Uint8Array {
  const out = Buffer.allocUnsafe(23 + cid.length);
  out.fill(0xff, 0, 8);
  out[8] = TLS12_CID;
  out[9] = cid.length;
  out[10] = TLS12_CID;
  out[11] = version >>> 8;
  out[12] = version & 0xff;
  writeEpochSeq(out, 13, epoch, seq);
  out.set(cid, 21);
  out[21 + cid.length] = length >>> 8;
  out[22 + cid.length] = length & 0xff;
  return out;
}

export const RECORD_HEADER_LENGTH = 13;

/** type, version, epoch, 48-bit sequence number, fragment length (RFC 6347 §4.1). */
export function writeRecordHeader(
  out: Uint8Array,
  type: number,
  version: number,
  epoch: number,
  seq: number,
  length: number,
): void {
  out[0] = type;
  out[1] = version >>> 8;
  out[2] = version & 0xff;
  writeEpochSeq(out, 3, epoch, seq);
  out[11] = length >>> 8;
  out[12] = length & 0xff;
}

/**
 * The 13 bytes both suites authenticate: seq_num (epoch + 48-bit sequence) + type + version + length
 * (RFC 6347 §4.1.2.1, RFC 5246 §6.2.3). `length` is the plaintext length. Written into `out`
 * (13 bytes) when given, so a cipher can reuse one buffer.
 */
export function additionalData(
  type: number,
  version: number,
  epoch: number,
  seq: number,
  length: number,
  out: Uint8Array = Buffer.allocUnsafe(13),
): Uint8Array {
  writeEpochSeq(out, 0, epoch, seq);
  out[8] = type;
  out[9] = version >>> 8;
  out[10] = version & 0xff;
  out[11] = length >>> 8;
  out[12] = length & 0xff;
  return out;
}

/** Writes epoch (16 bits) and sequence number (48 bits) big-endian at `offset`. */
export function writeEpochSeq(target: Uint8Array, offset: number, epoch: number, seq: number): void {
  target[offset] = (epoch >>> 8) & 0xff;
  target[offset + 1] = epoch & 0xff;
  const hi = Math.floor(seq / 0x100000000);
  const lo = seq >>> 0;
  target[offset + 2] = (hi >>> 8) & 0xff;
  target[offset + 3] = hi & 0xff;
  target[offset + 4] = (lo >>> 24) & 0xff;
  target[offset + 5] = (lo >>> 16) & 0xff;
  target[offset + 6] = (lo >>> 8) & 0xff;
  target[offset + 7] = lo & 0xff;
}

/** Epoch 0: no protection. */
export const nullCipher: RecordCipher = {
  overhead: 0,
  sealRecord: (type, version, epoch, seq, plaintext) => {
    const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + plaintext.length);
    writeRecordHeader(out, type, version, epoch, seq, plaintext.length);
    out.set(plaintext, RECORD_HEADER_LENGTH);
    return out;
  },
  open: (_type, _version, _epoch, _seq, fragment) => fragment,
};
