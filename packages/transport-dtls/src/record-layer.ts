import { nullCipher, TLS12_CID, type RecordCipher } from './record-cipher.js';
import { AlertDescription, DtlsHandshakeError, DtlsNoSessionError } from './errors.js';
import { DTLS_1_2, MAX_PLAINTEXT_LENGTH, RECORD_HEADER_LENGTH, type DtlsRecord } from './record.js';
import { ReplayWindow } from './replay-window.js';

/** 2^48 - 1: a sequence number must never wrap within an epoch (RFC 6347 §4.1). */
const MAX_SEQ = 0xffffffffffff;

interface ReadState {
  readonly epoch: number;
  readonly cipher: RecordCipher;
  readonly window: ReplayWindow;
  /** The CID we issued: records of this epoch must be tls12_cid records carrying it (RFC 9146). */
  readonly cid: Uint8Array | undefined;
}

interface WriteState {
  readonly epoch: number;
  readonly cipher: RecordCipher;
  seq: number;
  /** The peer's CID, put on every record of this epoch. */
  readonly cid: Uint8Array | undefined;
}

/** Connection ids for the next epoch: ours on what we read, the peer's on what we write. */
export interface ConnectionIds {
  readonly read: Uint8Array | undefined;
  readonly write: Uint8Array | undefined;
}

/**
 * The record layer of one association: read and write epochs, 48-bit sequence numbers, replay
 * windows. The previous read and write epochs stay usable so that handshake retransmissions
 * across the ChangeCipherSpec (epoch 0 and 1 records in one flight) still work.
 */
export class RecordLayer {
  private read: ReadState = { epoch: 0, cipher: nullCipher, window: new ReplayWindow(), cid: undefined };
  private previousRead: ReadState | undefined;
  private pendingRead: RecordCipher | undefined;
  private write: WriteState = { epoch: 0, cipher: nullCipher, seq: 0, cid: undefined };
  private previousWrite: WriteState | undefined;
  private pendingWrite: RecordCipher | undefined;
  private pendingCids: ConnectionIds = { read: undefined, write: undefined };
  /** The real content type of the record open() last returned (differs from the header's for tls12_cid). */
  openedType = 0;
  /** Whether that record had the highest sequence number of its epoch so far (RFC 9146 §6). */
  openedNewest = false;

  constructor(firstWriteSeq = 0) {
    this.write.seq = firstWriteSeq;
  }

  get readEpoch(): number {
    return this.read.epoch;
  }

  get writeEpoch(): number {
    return this.write.epoch;
  }

  get writeOverhead(): number {
    const cid = this.write.cid;
    // A CID record carries the CID in its header and the real content type inside.
    return RECORD_HEADER_LENGTH + this.write.cipher.overhead + (cid === undefined ? 0 : cid.length + 1);
  }

  /** Whether our records carry the peer's connection id. */
  get writesConnectionId(): boolean {
    return this.write.cid !== undefined;
  }

  /**
   * Length of the CID incoming protected records carry (0: none), to frame tls12_cid records. Set
   * as soon as the handshake negotiates it: the datagram with the peer's first CID record (its
   * Finished) also holds the message that installs the keys, and is framed before that runs.
   */
  readCidLength = 0;

  /**
   * Keys for the next epoch in each direction, activated by ChangeCipherSpec; with connection ids
   * when RFC 9146 was negotiated (a zero-length CID means the plain record format that way).
   */
  setPending(read: RecordCipher, write: RecordCipher, cids?: ConnectionIds): void {
    this.pendingRead = read;
    this.pendingWrite = write;
    this.pendingCids = {
      read: cids?.read !== undefined && cids.read.length > 0 ? cids.read : undefined,
      write: cids?.write !== undefined && cids.write.length > 0 ? cids.write : undefined,
    };
  }

  get hasPendingRead(): boolean {
    return this.pendingRead !== undefined;
  }

  /** Peer's ChangeCipherSpec: its following records use the next epoch. */
  activateRead(): boolean {
    if (this.pendingRead === undefined) return false;
    this.previousRead = this.read;
    this.read = {
      epoch: this.read.epoch + 1,
      cipher: this.pendingRead,
      window: new ReplayWindow(),
      cid: this.pendingCids.read,
    };
    this.pendingRead = undefined;
    return true;
  }

  /** Our ChangeCipherSpec has been written: switch to the next write epoch. */
  activateWrite(): boolean {
    if (this.pendingWrite === undefined) return false;
    this.previousWrite = this.write;
    this.write = {
      epoch: this.write.epoch + 1,
      cipher: this.pendingWrite,
      seq: 0,
      cid: this.pendingCids.write,
    };
    this.pendingWrite = undefined;
    return true;
  }

  /** Forgets the previous epochs once the handshake is over and no retransmission needs them. */
  dropPrevious(): void {
    this.previousRead = undefined;
    this.previousWrite = undefined;
  }

  /**
   * Authenticates and decrypts one record. Returns undefined for anything to be dropped silently:
   * unknown epoch, replay, bad MAC. `epoch` in the result tells the caller which epoch it came from.
   */
  open(record: DtlsRecord): Uint8Array | undefined {
    const state =
      record.epoch === this.read.epoch
        ? this.read
        : record.epoch === this.previousRead?.epoch
          ? this.previousRead
          : undefined;
    if (state === undefined || !state.window.check(record.seq)) return undefined;
    const cid = state.cid;
    // Where a CID was negotiated every record must carry it, and only there (RFC 9146 §4).
    if (
      cid === undefined ? record.type === TLS12_CID : record.type !== TLS12_CID || !sameBytes(record.cid, cid)
    )
      return undefined;
    let plain = state.cipher.open(
      record.type,
      record.version,
      record.epoch,
      record.seq,
      record.fragment,
      cid,
    );
    // A plaintext over 2^14 bytes is a record_overflow (RFC 5246 §6.2.1); drop it like a bad record.
    if (plain === undefined || plain.length > MAX_PLAINTEXT_LENGTH + (cid === undefined ? 0 : 256))
      return undefined;
    let type = record.type;
    if (cid !== undefined) {
      // DTLSInnerPlaintext: content, real type, zero padding. All zeros is invalid.
      let end = plain.length - 1;
      while (end >= 0 && plain[end] === 0) end--;
      if (end < 0) return undefined;
      type = plain[end]!;
      plain = plain.subarray(0, end);
      if (plain.length > MAX_PLAINTEXT_LENGTH) return undefined;
    }
    this.openedNewest = state.window.isNewest(record.seq);
    state.window.accept(record.seq);
    this.openedType = type;
    return plain;
  }

  /** Protects and frames one record in the current write epoch (or the previous one, for retransmissions). */
  seal(type: number, plaintext: Uint8Array, epoch = this.write.epoch): Uint8Array {
    const state =
      epoch === this.write.epoch
        ? this.write
        : epoch === this.previousWrite?.epoch
          ? this.previousWrite
          : undefined;
    if (state === undefined)
      throw new DtlsHandshakeError(`no write state for epoch ${epoch}`, AlertDescription.internalError);
    if (state.seq > MAX_SEQ)
      throw new DtlsNoSessionError('record sequence numbers exhausted: the session must be renewed');
    const cid = state.cid;
    if (cid === undefined)
      return state.cipher.sealRecord(type, DTLS_1_2, state.epoch, state.seq++, plaintext);
    const inner = Buffer.allocUnsafe(plaintext.length + 1);
    inner.set(plaintext, 0);
    inner[plaintext.length] = type; // no padding
    return state.cipher.sealRecord(TLS12_CID, DTLS_1_2, state.epoch, state.seq++, inner, cid);
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
