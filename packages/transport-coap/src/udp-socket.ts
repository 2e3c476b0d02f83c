import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { DatagramSocket, DatagramSocketEvents, PeerAddress } from '@lwm2m/core';
import { ClosedError } from '@lwm2m/core';

export interface UdpSocketOptions {
  /** Local address to bind; default `0.0.0.0` (udp4) or `::` (udp6). */
  readonly address?: string;
  /** Local port; 0 (the default) picks a free one. */
  readonly port?: number;
  readonly type?: 'udp4' | 'udp6';
}

/** Sizes RFC 7252 §4.6 recommends staying under when the path MTU is unknown. */
const DEFAULT_MAX_DATAGRAM = 1152;
const SENT: Promise<void> = Promise.resolve();

/** Binds a node:dgram socket and wraps it as the {@link DatagramSocket} the CoAP layer runs on. */
export async function createUdpSocket(options: UdpSocketOptions = {}): Promise<DatagramSocket> {
  const type = options.type ?? 'udp4';
  const socket = createSocket({ type });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind(options.port ?? 0, options.address ?? (type === 'udp4' ? '0.0.0.0' : '::'), () => {
      socket.off('error', onError);
      resolve();
    });
  });
  return new UdpSocket(socket);
}

class UdpSocket extends EventEmitter<DatagramSocketEvents> implements DatagramSocket {
  readonly #socket: Socket;
  #closed: Promise<void> | undefined;

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
    socket.on('message', (data, info) => {
      this.emit('message', {
        data,
        peer: { address: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' },
      });
    });
    // A UDP socket reports ICMP errors and the like here; losing them is fine for CoAP.
    socket.on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    socket.on('close', () => this.emit('close'));
  }

  /**
   * Resolves once the datagram is handed to the socket. No send callback is asked for: a UDP send
   * error is as final as a lost datagram (CoAP retransmits either way), and the callback's
   * promise and tick per datagram cost more than the rest of the send.
   */
  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(new ClosedError('socket closed'));
    try {
      this.#socket.send(data, peer.port, peer.address);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return SENT;
  }

  /**
   * The promise-free send the CoAP endpoint uses (see `DatagramSocket.sendNow`). A datagram that
   * cannot be sent (socket closed, an address or port node:dgram refuses) is dropped like a lost
   * one; the `error` event tells when it has a listener.
   */
  sendNow(data: Uint8Array, peer: PeerAddress): void {
    if (this.#closed !== undefined) return;
    try {
      this.#socket.send(data, peer.port, peer.address);
    } catch (error) {
      if (this.listenerCount('error') > 0)
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  address(): PeerAddress {
    if (this.#closed !== undefined) throw new ClosedError('socket closed');
    const info = this.#socket.address();
    return { address: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  maxDatagramSize(): number {
    return DEFAULT_MAX_DATAGRAM;
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.#closed;
  }
}
