import type { DatagramMessage } from '@lwm2m/core';
import { createDtlsServer, type DtlsServer } from '../src/index.js';
import { spawnPeer, type SpawnedPeer } from './peers.js';

/**
 * Answers a CoAP CON GET with a piggybacked 2.05 carrying `payload` (RFC 7252 §3): just enough
 * CoAP to show that libcoap's DTLS stack and ours agree; the real CoAP layer lives elsewhere.
 */
function coapContentResponse(request: Uint8Array, payload: string): Uint8Array | undefined {
  if (request.length < 4 || request[0]! >> 6 !== 1) return undefined;
  const tokenLength = request[0]! & 0x0f;
  const token = request.subarray(4, 4 + tokenLength);
  const header = Buffer.of(0x60 | tokenLength, 0x45, request[2]!, request[3]!); // ACK, 2.05, same message id
  return Buffer.concat([header, token, Buffer.of(0xff), Buffer.from(payload)]);
}

describe.each(['coap-client-openssl', 'coap-client-gnutls'])('interoperability with libcoap %s (our server)', (binary) => {
  let server: DtlsServer | undefined;
  let peer: SpawnedPeer | undefined;
  afterEach(async () => {
    await peer?.kill();
    await server?.close();
    peer = undefined;
    server = undefined;
  });

  it('completes a CoAPS GET over a PSK session', async () => {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async (identity) => (identity === 'lwm2m-dev' ? Buffer.from('sesame-key') : undefined) },
    });
    await server.listen();
    const s = server;
    const requests: DatagramMessage[] = [];
    s.on('message', (m) => {
      requests.push(m);
      const response = coapContentResponse(m.data, 'hello over dtls');
      if (response !== undefined) void s.send(response, m.peer);
    });
    const { port } = s.address();
    peer = spawnPeer(binary, ['-u', 'lwm2m-dev', '-k', 'sesame-key', '-B', '5', '-m', 'get', `coaps://127.0.0.1:${port}/3/0/0`]);
    await peer.waitFor('hello over dtls', 8000);
    expect(requests[0]?.identity).toEqual({ kind: 'psk', identity: 'lwm2m-dev' });
  });
});
