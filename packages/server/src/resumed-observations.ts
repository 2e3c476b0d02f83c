import { EventEmitter } from 'node:events';
import type { DatagramMessage, DatagramSocket, DatagramSocketEvents, Logger, PeerAddress } from '@lwm2m/core';
import { CoapOptionNumber, CoapType, getUintOption, parseMessage, serializeMessage } from '@lwm2m/transport-coap';

/**
 * Takes the notifications of observations this process did not make (they come from the
 * observation store, made before a restart) off a socket before the CoAP endpoint sees them: the
 * endpoint knows nothing of their tokens and would answer Reset, cancelling them.
 *
 * This stands in for an API of the CoAP endpoint to adopt an observation by token; only
 * single-block notifications are handled here.
 */
export interface NotificationInterceptor {
  /** The socket to give the CoAP endpoint. */
  readonly socket: DatagramSocket;
  /** Starts taking notifications with this token (lower-case hex). */
  adopt(token: string): void;
  release(token: string): void;
}

export interface InterceptorHandlers {
  /** Resolves true when the notification was taken (it is then acknowledged), false to pass it on. */
  onNotification(
    token: string,
    payload: Uint8Array,
    contentFormat: number | undefined,
    sequence: number | undefined,
    peer: PeerAddress,
  ): Promise<boolean>;
  readonly logger: Logger;
}

const MAX_RECENT = 1024;
const EMPTY = new Uint8Array(0);

export function createNotificationInterceptor(inner: DatagramSocket, handlers: InterceptorHandlers): NotificationInterceptor {
  const adopted = new Set<string>();
  /** (peer, message id) of CON notifications taken recently: a retransmission is acknowledged again, not delivered twice. */
  const recent = new Set<string>();
  const emitter = new EventEmitter<DatagramSocketEvents>();

  function acknowledge(messageId: number, peer: PeerAddress): void {
    const ack = serializeMessage({ type: CoapType.ACK, code: 0, messageId, token: EMPTY, options: [], payload: EMPTY });
    inner.send(ack, peer).catch((error: unknown) => handlers.logger.debug({ err: error }, 'could not acknowledge a notification'));
  }

  function onMessage(message: DatagramMessage): void {
    const data = message.data;
    // Cheap test first: CON or NON (type bits 00/01) carrying a 2.xx code (class 2 = 0x40..0x5f).
    if (adopted.size === 0 || data.length < 4 || (data[0] as number) >> 5 !== 0b010 || ((data[1] as number) & 0xe0) !== 0x40) {
      emitter.emit('message', message);
      return;
    }
    let parsed: ReturnType<typeof parseMessage>;
    try {
      parsed = parseMessage(data);
    } catch {
      emitter.emit('message', message);
      return;
    }
    const token = Buffer.from(parsed.token).toString('hex');
    const sequence = getUintOption(parsed.options, CoapOptionNumber.OBSERVE);
    if (!adopted.has(token) || sequence === undefined) {
      emitter.emit('message', message);
      return;
    }
    const key = `${message.peer.address}|${message.peer.port}|${parsed.messageId}`;
    if (recent.has(key)) {
      if (parsed.type === CoapType.CON) acknowledge(parsed.messageId, message.peer);
      return;
    }
    const contentFormat = getUintOption(parsed.options, CoapOptionNumber.CONTENT_FORMAT);
    handlers.onNotification(token, parsed.payload, contentFormat, sequence, message.peer).then(
      (taken) => {
        if (!taken) {
          emitter.emit('message', message);
          return;
        }
        recent.add(key);
        if (recent.size > MAX_RECENT) recent.delete(recent.values().next().value as string);
        if (parsed.type === CoapType.CON) acknowledge(parsed.messageId, message.peer);
      },
      (error: unknown) => {
        handlers.logger.error({ err: error }, 'resumed notification handling failed');
        emitter.emit('message', message);
      },
    );
  }

  inner.on('message', onMessage);
  inner.on('error', (error) => emitter.emit('error', error));
  inner.on('close', () => emitter.emit('close'));

  const socket: DatagramSocket = {
    send: (data, peer) => inner.send(data, peer),
    address: () => inner.address(),
    ...(inner.maxDatagramSize === undefined ? {} : { maxDatagramSize: (peer: PeerAddress) => inner.maxDatagramSize?.(peer) ?? 1152 }),
    on(event, listener) {
      emitter.on(event, listener as never);
      return socket;
    },
    off(event, listener) {
      emitter.off(event, listener as never);
      return socket;
    },
    close: () => inner.close(),
  };

  return {
    socket,
    adopt: (token) => void adopted.add(token),
    release: (token) => void adopted.delete(token),
  };
}
