import { EventEmitter } from 'node:events';
import type { DatagramMessage, DatagramSocket, DatagramSocketEvents, PeerAddress } from '@lwm2m/core';
import { CoapOptionNumber, decodeBlock, findOption, parseMessage } from '@lwm2m/transport-coap';

/**
 * Wraps a socket to lose chosen outgoing datagrams and to record the Block2 numbers of incoming
 * requests (so a test sees which blocks were asked for, and how often).
 */
export class LossySocket extends EventEmitter<DatagramSocketEvents> implements DatagramSocket {
  readonly inner: DatagramSocket;
  /** Block2 numbers of received requests, in order (retransmissions included). */
  readonly blockRequests: number[] = [];
  /** Decides per outgoing datagram (counted from 0) whether it is lost. */
  drop: (index: number, data: Uint8Array) => boolean = () => false;
  dropped = 0;
  #sent = 0;

  constructor(inner: DatagramSocket) {
    super();
    this.inner = inner;
    inner.on('message', (message: DatagramMessage) => {
      try {
        const option = findOption(parseMessage(message.data).options, CoapOptionNumber.BLOCK2);
        const block = option === undefined ? undefined : decodeBlock(option.value);
        if (block !== undefined) this.blockRequests.push(block.num);
      } catch {
        // not CoAP: pass it on all the same
      }
      this.emit('message', message);
    });
    inner.on('error', (error) => this.emit('error', error));
    inner.on('close', () => this.emit('close'));
  }

  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.drop(this.#sent++, data)) {
      this.dropped++;
      return Promise.resolve();
    }
    return this.inner.send(data, peer);
  }

  address(): PeerAddress {
    return this.inner.address();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
