/**
 * A client-side UDP socket with a simulated NAT in front of it: `rebind()` moves it to a new
 * source port (the NAT forgot the mapping), `offline` drops everything both ways (no network).
 */
import { EventEmitter } from 'node:events';
import type { DatagramMessage, DatagramSocket, DatagramSocketEvents, PeerAddress } from '@lwm2m/core';
import { createUdpSocket } from '@lwm2m/transport-coap';

export class NatSocket implements DatagramSocket {
  offline = false;
  readonly #events = new EventEmitter<DatagramSocketEvents>();
  readonly #host: string;
  #inner: DatagramSocket;
  #closed = false;
  readonly #onMessage = (message: DatagramMessage): void => {
    if (!this.offline) this.#events.emit('message', message);
  };
  readonly #onError = (error: Error): void => {
    this.#events.emit('error', error);
  };

  private constructor(inner: DatagramSocket, host: string) {
    this.#inner = inner;
    this.#host = host;
    this.#attach(inner);
  }

  static async open(host: string): Promise<NatSocket> {
    return new NatSocket(await createUdpSocket({ address: host, port: 0 }), host);
  }

  #attach(inner: DatagramSocket): void {
    inner.on('message', this.#onMessage);
    inner.on('error', this.#onError);
  }

  /** New source port; the old one is closed, so nothing sent to it arrives any more. */
  async rebind(): Promise<void> {
    const old = this.#inner;
    this.#inner = await createUdpSocket({ address: this.#host, port: 0 });
    this.#attach(this.#inner);
    old.off('message', this.#onMessage);
    old.off('error', this.#onError);
    await old.close();
  }

  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.offline) return Promise.resolve();
    return this.#inner.send(data, peer);
  }

  address(): PeerAddress {
    return this.#inner.address();
  }

  maxDatagramSize(peer: PeerAddress): number {
    return this.#inner.maxDatagramSize?.(peer) ?? 1152;
  }

  on<E extends keyof DatagramSocketEvents>(
    event: E,
    listener: (...args: DatagramSocketEvents[E]) => void,
  ): this {
    this.#events.on(event, listener as never);
    return this;
  }

  off<E extends keyof DatagramSocketEvents>(
    event: E,
    listener: (...args: DatagramSocketEvents[E]) => void,
  ): this {
    this.#events.off(event, listener as never);
    return this;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inner.close();
    this.#events.emit('close');
  }
}
