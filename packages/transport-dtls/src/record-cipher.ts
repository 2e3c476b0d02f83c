/**
 * Record protection for one direction of one epoch. `sealRecord` turns a plaintext fragment into
 * a whole record (13-byte header, then the protected fragment) in one buffer; `open` reverses the
 * protection of a fragment and returns undefined when the record does not authenticate (such
 * records are dropped silently). Both are synchronous, so an instance may reuse scratch buffers.
 */
export interface RecordCipher {
  /** Largest number of bytes protection adds to a plaintext. */
  readonly overhead: number;
  sealRecord(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array;
  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
  ): Uint8Array | undefined;
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
