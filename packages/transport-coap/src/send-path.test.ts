import type { DatagramSocket } from '@lwm2m/core';
import { CoapCode } from './codes.js';
import { createCoapEndpoint } from './endpoint.js';
import { createMemorySocketPair } from './memory-socket.js';

describe('the send path', () => {
  it('uses sendNow when the socket offers it, send otherwise', async () => {
    const [serverSocket, clientSocket] = createMemorySocketPair();
    const calls = { send: 0, sendNow: 0 };
    // The server side offers only the Promise send (as a socket without the fast path would).
    const plain: DatagramSocket = {
      send: (data, peer) => {
        calls.send++;
        return serverSocket.send(data, peer);
      },
      address: () => serverSocket.address(),
      on(event, listener) {
        serverSocket.on(event, listener as never);
        return this;
      },
      off(event, listener) {
        serverSocket.off(event, listener as never);
        return this;
      },
      close: () => serverSocket.close(),
    };
    const fastSend = clientSocket.sendNow.bind(clientSocket);
    clientSocket.sendNow = (data, peer) => {
      calls.sendNow++;
      fastSend(data, peer);
    };
    clientSocket.send = () => Promise.reject(new Error('send must not be used when sendNow exists'));
    const server = createCoapEndpoint({
      socket: plain,
      handler: () => ({ code: CoapCode.CONTENT, payload: 'ok' }),
    });
    const client = createCoapEndpoint({ socket: clientSocket });
    try {
      const response = await client.request({ peer: serverSocket.local, method: 'GET', path: '/x' });
      expect(Buffer.from(response.payload).toString()).toBe('ok');
      expect(calls).toEqual({ send: 1, sendNow: 1 });
    } finally {
      await Promise.all([server.close(), client.close()]);
    }
  });
});
