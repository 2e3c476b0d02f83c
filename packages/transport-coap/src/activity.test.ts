import type { PeerAddress } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { serializeMessage } from './message.js';
import { createEndpointPair, flush } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';

let pair: EndpointPair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const empty = (type: number, messageId: number): Uint8Array =>
  serializeMessage({
    type,
    code: 0,
    messageId,
    token: new Uint8Array(0),
    options: [],
    payload: new Uint8Array(0),
  });

describe("the endpoint's activity event", () => {
  it('fires once per well-formed message from a peer: request, response, ACK, RST, ping, duplicate', async () => {
    const p = (pair = createEndpointPair(() => ({ code: CoapCode.CONTENT, payload: 'x' })));
    const serverSaw: PeerAddress[] = [];
    const clientSaw: PeerAddress[] = [];
    p.server.on('activity', (peer) => serverSaw.push(peer));
    p.client.on('activity', (peer) => clientSaw.push(peer));

    await p.client.request({ peer: p.serverPeer, method: 'GET', path: '/a' });
    expect(serverSaw).toEqual([p.clientPeer]); // the request
    expect(clientSaw).toEqual([p.serverPeer]); // the piggybacked response (an ACK)

    // A ping (empty CON) from the client, a Reset, a duplicate request, and garbage.
    p.serverSocket.inject(empty(CoapType.CON, 7), p.clientPeer);
    p.serverSocket.inject(empty(CoapType.RST, 8), p.clientPeer);
    const request = serializeMessage({
      type: CoapType.CON,
      code: CoapCode.GET,
      messageId: 9,
      token: Uint8Array.of(1),
      options: [],
      payload: new Uint8Array(0),
    });
    p.serverSocket.inject(request, p.clientPeer);
    p.serverSocket.inject(request, p.clientPeer);
    p.serverSocket.inject(Uint8Array.of(0x70, 0, 0), p.clientPeer); // not CoAP: no activity
    await flush();
    expect(serverSaw).toHaveLength(5);
    const other = { address: '10.9.9.9', port: 1 };
    p.serverSocket.inject(empty(CoapType.ACK, 10), other);
    expect(serverSaw.at(-1)).toEqual(other);
  });

  it('is emitted before the message is handled, and off() stops it', async () => {
    const order: string[] = [];
    const p = (pair = createEndpointPair(() => {
      order.push('handler');
      return { code: CoapCode.CONTENT };
    }));
    const listener = (): void => {
      order.push('activity');
    };
    p.server.on('activity', listener);
    await p.client.request({ peer: p.serverPeer, method: 'GET' });
    p.server.off('activity', listener);
    await p.client.request({ peer: p.serverPeer, method: 'GET' });
    expect(order).toEqual(['activity', 'handler', 'handler']);
  });

  it('survives a listener that throws', async () => {
    const p = (pair = createEndpointPair(() => ({ code: CoapCode.CONTENT, payload: 'ok' })));
    p.server.on('activity', () => {
      throw new Error('listener bug');
    });
    const response = await p.client.request({ peer: p.serverPeer, method: 'GET' });
    expect(Buffer.from(response.payload).toString()).toBe('ok');
  });
});
