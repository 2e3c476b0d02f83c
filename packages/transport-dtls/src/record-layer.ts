import { nullCipher, type RecordCipher } from './record-cipher.js';
import { AlertDescription, DtlsHandshakeError, DtlsNoSessionError } from './errors.js';
import { DTLS_1_2, MAX_PLAINTEXT_LENGTH, RECORD_HEADER_LENGTH, type DtlsRecord } from './record.js';
import { ReplayWindow } from './replay-window.js';

/** 2^48 - 1: a sequence number must never wrap within an epoch (RFC 6347 §4.1). */
const MAX_SEQ = 0xffffffffffff;

interface ReadState {
  readonly epoch: number;
  readonly cipher: RecordCipher;
  readonly window: ReplayWindow;
}

interface WriteState {
  readonly epoch: number;
  readonly cipher: RecordCipher;
  seq: number;
}

/**
 * The record layer of one association: read and write epochs, 48-bit sequence numbers, replay
 * windows. The previous read and write epochs stay usable so that handshake retransmissions
 * across the ChangeCipherSpec (epoch 0 and 1 records in one flight) still work.
 */
export class RecordLayer {
  private read: ReadState = { epoch: 0, cipher: nullCipher, window: new ReplayWindow() };
  private previousRead: ReadState | undefined;
  private pendingRead: RecordCipher | undefined;
  private write: WriteState = { epoch: 0, cipher: nullCipher, seq: 0 };
  private previousWrite: WriteState | undefined;
  private pendingWrite: RecordCipher | undefined;

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
    return RECORD_HEADER_LENGTH + this.write.cipher.overhead;
  }

  /** Keys for the next epoch in each direction, activated by ChangeCipherSpec. */
  setPending(read: RecordCipher, write: RecordCipher): void {
    this.pendingRead = read;
    this.pendingWrite = write;
  }

  get hasPendingRead(): boolean {
    return this.pendingRead !== undefined;
  }

  /** Peer's ChangeCipherSpec: its following records use the next epoch. */
  activateRead(): boolean {
    if (this.pendingRead === undefined) return false;
    this.previousRead = this.read;
    this.read = { epoch: this.read.epoch + 1, cipher: this.pendingRead, window: new ReplayWindow() };
    this.pendingRead = undefined;
    return true;
  }

  /** Our ChangeCipherSpec has been written: switch to the next write epoch. */
  activateWrite(): boolean {
    if (this.pendingWrite === undefined) return false;
    this.previousWrite = this.write;
    this.write = { epoch: this.write.epoch + 1, cipher: this.pendingWrite, seq: 0 };
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
    const plain = state.cipher.open(record.type, record.version, record.epoch, record.seq, record.fragment);
    // A plaintext over 2^14 bytes is a record_overflow (RFC 5246 §6.2.1); drop it like a bad record.
    if (plain === undefined || plain.length > MAX_PLAINTEXT_LENGTH) return undefined;
    state.window.accept(record.seq);
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
    return state.cipher.sealRecord(type, DTLS_1_2, state.epoch, state.seq++, plaintext);
  }
}
