import type { DatagramMessage } from '@lwm2m/core';
import { dtls } from 'node-dtls-client';
import { createDtlsServer, type DtlsServer } from '../src/index.js';

// node-dtls-client: an independent DTLS-PSK client written in TypeScript.
describe('interoperability with node-dtls-client (our server)', () => {
  let server: DtlsServer | undefined;
  let socket: dtls.Socket | undefined;
  afterEach(async () => {
    socket?.close();
    socket = undefined;
    await server?.close();
    server = undefined;
  });

  it.each(['TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_CBC_SHA256'] as const)(
    'completes a handshake with %s and echoes data',
    async (cipher) => {
      server = createDtlsServer({
        port: 0,
        address: '127.0.0.1',
        psk: { lookup: async (identity) => (identity === 'dev1' ? Buffer.from('sesame') : undefined) },
      });
      await server.listen();
      const s = server;
      const identities: unknown[] = [];
      s.on('message', (m: DatagramMessage) => {
        identities.push(m.identity);
        void s.send(Buffer.concat([Buffer.from('echo:'), m.data]), m.peer);
      });
      const received = new Promise<Buffer>((resolve, reject) => {
        socket = dtls
          .createSocket({
            type: 'udp4',
            address: '127.0.0.1',
            port: s.address().port,
            psk: { dev1: 'sesame' },
            timeout: 3000,
            ciphers: [cipher],
          })
          .on('connected', () => socket!.send(Buffer.from('hi')))
          .on('message', (data: Buffer) => resolve(data))
          .on('error', reject);
      });
      expect((await received).toString()).toBe('echo:hi');
      expect(s.associationCount).toBe(1);
      expect(identities).toEqual([{ kind: 'psk', identity: 'dev1' }]);
    },
  );
});
