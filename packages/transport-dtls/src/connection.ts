import { DecodeError, type Logger } from '@lwm2m/core';
import {
  AlertDescription,
  AlertLevel,
  DtlsAlertError,
  DtlsHandshakeError,
  DtlsTimeoutError,
} from './errors.js';
import { sha256Of } from './hmac-sha256.js';
import { FragmentAssembler, type HandshakeMessage } from './fragment-assembler.js';
import { RetransmitTimer, type RetransmitTimerOptions } from './flight.js';
import {
  encodeHandshake,
  HANDSHAKE_HEADER_LENGTH,
  HandshakeType,
  parseAlert,
  parseHandshakeFragments,
} from './handshake-messages.js';
import { ContentType, parseRecords, type DtlsRecord } from './record.js';
import { RecordLayer } from './record-layer.js';

/** Default path MTU budget for one datagram (IPv4/IPv6 over typical links, with headroom). */
export const DEFAULT_MTU = 1400;
/** Records queued while an asynchronous step (PSK lookup) runs; more are dropped. */
const MAX_INBOX = 64;
/**
 * Datagrams whose record at the handshake's new read epoch failed to authenticate before the
 * handshake gives up with bad_record_mac. One is not enough: anyone can spoof a record, and RFC
 * 6347 §4.1.2.7 says to drop invalid records silently. A peer with the wrong key fails again on
 * its retransmission, so it still gets an alert instead of a long timeout.
 */
const BAD_FINISHED_DATAGRAMS = 2;

/** One entry of a flight; epochs are fixed on first transmission and reused on retransmission. */
export type FlightItem =
  | {
      readonly kind: 'handshake';
      readonly msgType: number;
      readonly messageSeq: number;
      readonly body: Uint8Array;
      epoch?: number;
    }
  | { readonly kind: 'ccs'; epoch?: number };

/** The role-specific part of a handshake (client or server). */
export interface HandshakeRole {
  /** A complete, in-order handshake message. May be async (PSK lookup); records wait meanwhile. */
  onMessage(message: HandshakeMessage, epoch: number): void | Promise<void>;
  /** The peer's ChangeCipherSpec. */
  onChangeCipherSpec(): void;
}

/** What the owner (server table or client connection) hears from one association. */
export interface ConnectionHooks {
  sendDatagram(data: Uint8Array): void;
  onEstablished(): void;
  onApplicationData(data: Uint8Array): void;
  /** The association ended: error is undefined after a clean close_notify. */
  onClosed(error: Error | undefined): void;
  /**
   * A protected record authenticated, before it is acted on; `newest` when no later record of its
   * epoch was seen. The server moves a CID session to a new address here (RFC 9146 §6).
   */
  onAuthenticatedRecord?(newest: boolean): void;
}

export interface ConnectionOptions {
  readonly mtu?: number;
  readonly retransmit?: RetransmitTimerOptions;
  readonly logger: Logger;
  /** First record sequence number in epoch 0 (a stateless server continues after the ClientHello's). */
  readonly firstWriteSeq?: number;
}

export type ConnectionState = 'handshake' | 'established' | 'closed';

/** processRecord's answer for a record that did not count (bad MAC, replay, epoch not allowed). */
const DROPPED = 0;

/**
 * One DTLS association with one peer: record processing, the handshake transcript, flights and
 * their retransmission, alerts. The client and server handshakes plug in as a {@link HandshakeRole}.
 */
export class DtlsConnection {
  readonly records: RecordLayer;
  readonly assembler = new FragmentAssembler();
  readonly logger: Logger;
  role: HandshakeRole | undefined;
  state: ConnectionState = 'handshake';
  /** message_seq of the next handshake message we send. */
  nextSendSeq = 0;
  lastActivity = Date.now();

  private transcript: Uint8Array[] = [];
  private lastFlight: FlightItem[] | undefined;
  /** True when the last flight ends the handshake (no answer expected, resent only on request). */
  private lastFlightFinal = false;
  /** Datagram counter, so that a peer's repeated flight triggers at most one resend per datagram. */
  private datagramSerial = 0;
  private resentForSerial = -1;
  /**
   * message_seq the peer had reached when we sent our last flight: a repeated fragment below it
   * means the peer did not get that flight; one at or above it belongs to the flight we are
   * still receiving and must not make us resend (or a wrong-key peer and we would bounce flights).
   */
  private lastFlightAnswersBelow = 0;
  private badFinishedDatagrams = 0;
  private badFinishedSerial = -1;
  private readonly timer: RetransmitTimer;
  private readonly mtu: number;
  private inbox: DtlsRecord[] = [];
  private busy = false;

  constructor(
    private readonly hooks: ConnectionHooks,
    options: ConnectionOptions,
  ) {
    this.records = new RecordLayer(options.firstWriteSeq ?? 0);
    this.logger = options.logger;
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.timer = new RetransmitTimer(
      () => this.retransmit(),
      () => this.fail(new DtlsTimeoutError('DTLS handshake timed out: no answer to our flight'), undefined),
      options.retransmit,
    );
  }

  /** Largest application payload that fits one datagram. */
  get maxPlaintext(): number {
    return this.mtu - this.records.writeOverhead;
  }

  // ---- incoming ---------------------------------------------------------------------------

  /**
   * Processes one datagram. Returns true when at least one of its records authenticated (or
   * was queued behind an asynchronous handshake step), false when everything in it was dropped:
   * the server then offers the datagram to a handshake that is replacing this association.
   */
  handleDatagram(datagram: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    this.datagramSerial++;
    const records = parseRecords(datagram, this.records.readCidLength);
    if (!this.busy && this.inbox.length === 0) {
      let authenticated = false;
      for (let i = 0; i < records.length; i++) {
        const outcome = this.processRecord(records[i]!);
        if (outcome === DROPPED) continue;
        authenticated = true;
        if (outcome !== undefined) {
          for (let j = i + 1; j < records.length; j++) this.inbox.push(records[j]!);
          this.wait(outcome);
          return true;
        }
      }
      return authenticated;
    }
    for (const r of records) if (this.inbox.length < MAX_INBOX) this.inbox.push(r);
    return records.length > 0;
  }

  private wait(pending: Promise<void>): void {
    this.busy = true;
    pending.then(
      () => {
        this.busy = false;
        this.pump();
      },
      (error: unknown) => {
        this.busy = false;
        this.failFromError(error);
      },
    );
  }

  private pump(): void {
    while (!this.busy && this.inbox.length > 0 && this.state !== 'closed') {
      const record = this.inbox.shift()!;
      const outcome = this.processRecord(record);
      if (outcome !== undefined && outcome !== DROPPED) this.wait(outcome);
    }
  }

  /**
   * DROPPED when the record did not authenticate (or came from an epoch that may no longer
   * speak); a promise when the handshake went asynchronous and later records must wait.
   */
  private processRecord(record: DtlsRecord): Promise<void> | typeof DROPPED | undefined {
    if (this.state === 'closed') return DROPPED;
    const plain = this.records.open(record);
    if (plain === undefined) {
      this.onUnauthenticated(record);
      return DROPPED;
    }
    const type = this.records.openedType;
    const current = record.epoch === this.records.readEpoch;
    // After the handshake the previous epoch (0: plaintext, forgeable by anyone) is kept only so
    // that a peer's repeated final flight can be answered; it never carries alerts or data.
    if (this.state === 'established' && !current && type !== ContentType.handshake) return DROPPED;
    this.lastActivity = Date.now();
    if (record.epoch > 0) this.hooks.onAuthenticatedRecord?.(this.records.openedNewest);
    try {
      switch (type) {
        case ContentType.applicationData:
          // Application data is only valid once the handshake finished, in the current epoch.
          if (this.state === 'established' && current && record.epoch > 0) {
            // The peer has its keys, so it got our last flight: the previous epoch can go.
            if (this.lastFlight !== undefined) this.forgetHandshake();
            this.hooks.onApplicationData(plain);
          }
          return undefined;
        case ContentType.alert:
          this.onAlert(plain);
          return undefined;
        case ContentType.changeCipherSpec:
          if (plain.length === 1 && plain[0] === 1 && this.state === 'handshake')
            this.role?.onChangeCipherSpec();
          return undefined;
        case ContentType.handshake:
          return this.onHandshakeRecord(plain, record.epoch);
        default:
          return undefined;
      }
    } catch (error) {
      this.failFromError(error);
      return undefined;
    }
  }

  /** A record that did not authenticate is dropped silently (RFC 6347 §4.1.2.7), see BAD_FINISHED_DATAGRAMS. */
  private onUnauthenticated(record: DtlsRecord): void {
    this.logger.trace({ epoch: record.epoch, seq: record.seq, type: record.type }, 'dtls record dropped');
    if (
      this.state !== 'handshake' ||
      (record.type !== ContentType.handshake && record.type !== ContentType.tls12Cid) ||
      record.epoch === 0 ||
      record.epoch !== this.records.readEpoch
    ) {
      return;
    }
    if (this.badFinishedSerial === this.datagramSerial) return;
    this.badFinishedSerial = this.datagramSerial;
    if (++this.badFinishedDatagrams >= BAD_FINISHED_DATAGRAMS) {
      // The peer's repeated Finished does not decrypt under the keys we derived: a wrong PSK.
      this.fail(
        new DtlsHandshakeError(
          'peer Finished does not authenticate (wrong PSK?)',
          AlertDescription.badRecordMac,
        ),
        AlertDescription.badRecordMac,
      );
    }
  }

  private onHandshakeRecord(plain: Uint8Array, epoch: number): Promise<void> | undefined {
    const fragments = parseHandshakeFragments(plain);
    if (this.state === 'established') {
      for (const f of fragments) {
        if (
          epoch > 0 &&
          (f.msgType === HandshakeType.clientHello || f.msgType === HandshakeType.helloRequest)
        ) {
          // Renegotiation, asked for inside the session. We do not renegotiate (RFC 5746 §5,
          // RFC 7925 §17): a warning no_renegotiation, and the session goes on (RFC 5246 §7.2.2).
          this.logger.debug({ msgType: f.msgType }, 'dtls renegotiation refused');
          this.sendAlert(AlertLevel.warning, AlertDescription.noRenegotiation);
          return undefined;
        }
      }
    }
    let peerRepeat = false;
    for (const f of fragments) {
      if (!this.assembler.add(f) && f.messageSeq < this.lastFlightAnswersBelow) peerRepeat = true;
    }
    // The peer repeated a flight we already answered: our answer was probably lost.
    if (peerRepeat) this.retransmitOnPeerRepeat();
    return this.deliverMessages(epoch);
  }

  private deliverMessages(epoch: number): Promise<void> | undefined {
    if (this.state !== 'handshake' || this.role === undefined) return undefined;
    for (;;) {
      const message = this.assembler.next();
      if (message === undefined) return undefined;
      const pending = this.role.onMessage(message, epoch);
      if (pending !== undefined) {
        // Further complete messages are delivered after the asynchronous step.
        return pending.then(() => {
          const more = this.deliverMessages(epoch);
          return more;
        });
      }
      if (this.state !== 'handshake') return undefined;
    }
  }

  private onAlert(plain: Uint8Array): void {
    const alert = parseAlert(plain);
    if (alert === undefined) return;
    if (alert.description === AlertDescription.closeNotify) {
      this.logger.debug('dtls close_notify from peer');
      if (this.state === 'established') this.sendAlert(AlertLevel.warning, AlertDescription.closeNotify);
      this.terminate(
        this.state === 'handshake' ? new DtlsAlertError(alert.level, alert.description) : undefined,
      );
      return;
    }
    if (alert.level === AlertLevel.fatal) {
      this.terminate(new DtlsAlertError(alert.level, alert.description));
      return;
    }
    this.logger.debug({ alert: alert.description }, 'dtls warning alert ignored');
  }

  // ---- handshake helpers used by the roles ------------------------------------------------

  /** Appends a whole message to the handshake transcript, as if sent unfragmented (RFC 6347 §4.2.6). */
  addToTranscript(msgType: number, messageSeq: number, body: Uint8Array): void {
    this.transcript.push(encodeHandshake(msgType, messageSeq, body));
  }

  resetTranscript(): void {
    this.transcript = [];
  }

  transcriptHash(): Buffer {
    return sha256Of(this.transcript);
  }

  /** The handshake messages so far, concatenated: what CertificateVerify signs (RFC 5246 §7.4.8). */
  transcriptBytes(): Buffer {
    return Buffer.concat(this.transcript);
  }

  /** Builds a handshake flight item with the next message_seq and records it in the transcript. */
  message(msgType: number, body: Uint8Array, addToTranscript = true): FlightItem {
    const messageSeq = this.nextSendSeq++;
    if (addToTranscript) this.addToTranscript(msgType, messageSeq, body);
    return { kind: 'handshake', msgType, messageSeq, body };
  }

  /**
   * Sends a new flight. `expectsReply` arms the retransmission timer; a final flight is only kept
   * to be resent when the peer repeats its own last flight.
   */
  sendFlight(items: FlightItem[], expectsReply: boolean): void {
    this.lastFlight = items;
    this.lastFlightFinal = !expectsReply;
    this.lastFlightAnswersBelow = this.assembler.expectedSeq;
    this.transmit(items, true);
    if (expectsReply) this.timer.start();
    else this.timer.stop();
  }

  /** The handshake is over; a final flight we sent stays available for the peer's retransmissions. */
  established(): void {
    this.timer.stop();
    // Only the side that sent the final flight answers repeats after the handshake; the other
    // side resending its flight would make both sides bounce flights forever.
    if (!this.lastFlightFinal) this.forgetHandshake();
    this.state = 'established';
    this.hooks.onEstablished();
  }

  /** Nothing of the handshake needs resending any more: drop the last flight and the previous epoch. */
  private forgetHandshake(): void {
    this.lastFlight = undefined;
    this.records.dropPrevious();
  }

  /** Fails the handshake: a fatal alert to the peer (when given), then closed. */
  fail(error: Error, alert: number | undefined = AlertDescription.handshakeFailure): void {
    if (this.state === 'closed') return;
    if (alert !== undefined) this.sendAlert(AlertLevel.fatal, alert);
    this.terminate(error);
  }

  private failFromError(error: unknown): void {
    if (error instanceof DtlsHandshakeError) this.fail(error, error.alert);
    else if (error instanceof DecodeError)
      this.fail(
        new DtlsHandshakeError(error.message, AlertDescription.decodeError, { cause: error }),
        AlertDescription.decodeError,
      );
    else
      this.fail(
        new DtlsHandshakeError('internal error in DTLS handshake', AlertDescription.internalError, {
          cause: error,
        }),
        AlertDescription.internalError,
      );
  }

  private retransmit(): void {
    if (this.lastFlight !== undefined && this.state !== 'closed') {
      this.logger.debug({ retransmits: this.timer.retransmits }, 'dtls flight retransmitted');
      this.transmit(this.lastFlight, false);
    }
  }

  private retransmitOnPeerRepeat(): void {
    if (
      this.lastFlight === undefined ||
      this.state === 'closed' ||
      this.resentForSerial === this.datagramSerial
    )
      return;
    this.resentForSerial = this.datagramSerial;
    this.transmit(this.lastFlight, false);
  }

  /** Serialises a flight into as few datagrams as the MTU allows, fragmenting large messages. */
  private transmit(items: FlightItem[], first: boolean): void {
    const datagram: Uint8Array[] = [];
    let size = 0;
    const push = (record: Uint8Array): void => {
      if (size + record.length > this.mtu && datagram.length > 0) {
        this.hooks.sendDatagram(Buffer.concat(datagram));
        datagram.length = 0;
        size = 0;
      }
      datagram.push(record);
      size += record.length;
    };
    for (const item of items) {
      if (first) item.epoch = this.records.writeEpoch;
      const epoch = item.epoch ?? this.records.writeEpoch;
      if (item.kind === 'ccs') {
        push(this.records.seal(ContentType.changeCipherSpec, Buffer.of(1), epoch));
        if (first) this.records.activateWrite();
        continue;
      }
      const room = Math.max(this.mtu - this.records.writeOverhead - HANDSHAKE_HEADER_LENGTH, 16);
      const body = item.body;
      let offset = 0;
      do {
        const length = Math.min(room, body.length - offset);
        push(
          this.records.seal(
            ContentType.handshake,
            encodeHandshake(item.msgType, item.messageSeq, body, offset, length),
            epoch,
          ),
        );
        offset += length;
      } while (offset < body.length);
    }
    if (datagram.length > 0) this.hooks.sendDatagram(Buffer.concat(datagram));
  }

  // ---- application data and closing --------------------------------------------------------

  /** One application_data record in the current epoch, ready for the socket. */
  sealApplicationData(data: Uint8Array): Uint8Array {
    return this.records.seal(ContentType.applicationData, data);
  }

  sendAlert(level: number, description: number): void {
    try {
      this.hooks.sendDatagram(this.records.seal(ContentType.alert, Buffer.of(level, description)));
    } catch (error) {
      this.logger.debug({ err: error }, 'dtls alert not sent');
    }
  }

  /** Sends close_notify and ends the association. Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    if (this.state === 'established') this.sendAlert(AlertLevel.warning, AlertDescription.closeNotify);
    this.terminate(undefined);
  }

  /** Ends without sending anything (eviction, expiry). */
  terminate(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.timer.stop();
    this.inbox = [];
    this.lastFlight = undefined;
    this.hooks.onClosed(error);
  }
}
