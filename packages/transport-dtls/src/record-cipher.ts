/**
 * Record protection for one direction of one epoch. `seal` turns a plaintext fragment into the
 * protected fragment that goes after the 13-byte record header; `open` reverses it and returns
 * undefined when the record does not authenticate (such records are dropped silently).
 */
export interface RecordCipher {
  /** Largest number of bytes `seal` adds to a plaintext. */
  readonly overhead: number;
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array;
  open(type: number, version: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array | undefined;
}

/**
 * The 13 bytes both suites authenticate: seq_num (epoch + 48-bit sequence) + type + version + length
 * (RFC 6347 §4.1.2.1, RFC 5246 §6.2.3). `length` is the plaintext length.
 */
export function additionalData(type: number, version: number, epoch: number, seq: number, length: number): Buffer {
  const aad = Buffer.allocUnsafe(13);
  writeEpochSeq(aad, 0, epoch, seq);
  aad[8] = type;
  aad.writeUInt16BE(version, 9);
  aad.writeUInt16BE(length, 11);
  return aad;
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
  seal: (_type, _version, _epoch, _seq, plaintext) => plaintext,
  open: (_type, _version, _epoch, _seq, fragment) => fragment,
};
