import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatagramMessage } from '@lwm2m/core';
import { connectDtls, createDtlsServer, DtlsTimeoutError, type DtlsServer } from '../src/index.js';
import { delay, freeUdpPort, spawnPeer, type SpawnedPeer } from './peers.js';

const KEY_HEX = '73656372657431'; // "secret1"
const KEY = Buffer.from(KEY_HEX, 'hex');
const SUITES = [
  ['PSK-AES128-CCM8', 'TLS_PSK_WITH_AES_128_CCM_8'],
  ['PSK-AES128-CBC-SHA256', 'TLS_PSK_WITH_AES_128_CBC_SHA256'],
] as const;

describe('interoperability with openssl s_server (our client)', () => {
  let peer: SpawnedPeer | undefined;
  afterEach(async () => {
    await peer?.kill();
    peer = undefined;
  });

  async function startServer(cipher: string, extra: string[] = []): Promise<number> {
    const port = await freeUdpPort();
    peer = spawnPeer('openssl', [
      's_server',
      '-dtls1_2',
      '-accept',
      `127.0.0.1:${port}`,
      '-nocert',
      '-psk',
      KEY_HEX,
      '-cipher',
      cipher,
      ...extra,
    ]);
    await peer.waitFor('ACCEPT');
    return port;
  }

  it.each(SUITES)('completes the handshake with %s and exchanges data both ways', async (cipher, suite) => {
    const port = await startServer(cipher);
    const client = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'id1', key: KEY },
      timeout: 8000,
    });
    try {
      expect(client.cipherSuite).toBe(suite);
      const received = new Promise<DatagramMessage>((resolve) => client.on('message', resolve));
      await client.send(Buffer.from('ping from node\n'));
      await peer!.waitFor('ping from node');
      peer!.process.stdin.write('pong from openssl\n');
      const message = await received;
      expect(Buffer.from(message.data).toString()).toBe('pong from openssl\n');
      expect(message.identity).toEqual({ kind: 'psk', identity: 'id1' });
      expect(peer!.output()).toContain('Secure Renegotiation IS supported');
    } finally {
      await client.close();
    }
  });

  it('reads a PSK identity hint from ServerKeyExchange', async () => {
    const port = await startServer('PSK-AES128-CCM8', ['-psk_hint', 'lwm2m-hint']);
    const client = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'id1', key: KEY },
      timeout: 8000,
    });
    await client.send(Buffer.from('with hint\n'));
    await peer!.waitFor('with hint');
    await client.close();
  });

  it('sends close_notify on close', async () => {
    const port = await startServer('PSK-AES128-CCM8');
    const client = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'id1', key: KEY },
      timeout: 8000,
    });
    await client.close();
    await peer!.waitFor('DONE');
  });

  it('resumes its session with s_server (abbreviated handshake)', async () => {
    const port = await startServer('PSK-AES128-CCM8');
    const first = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'id1', key: KEY },
      timeout: 8000,
    });
    const session = first.session!;
    await first.close();
    await peer!.waitFor('DONE');
    await delay(200); // s_server goes back to accept after printing DONE
    const second = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'id1', key: KEY },
      timeout: 8000,
      session,
    });
    await peer!.waitFor('Reused session-id');
    await second.send(Buffer.from('after resumption\n'));
    await peer!.waitFor('after resumption');
    await second.close();
  });

  it('refuses the renegotiation s_server asks for (HelloRequest) with no_renegotiation', async () => {
    const port = await startServer('PSK-AES128-CCM8');
    const client = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'id1', key: KEY },
      timeout: 8000,
    });
    try {
      await client.send(Buffer.from('before renegotiation\n'));
      await peer!.waitFor('before renegotiation');
      peer!.process.stdin.write('r\n'); // s_server: "r" sends a HelloRequest
      // OpenSSL reports our warning alert as "no renegotiation" (and then gives up on its side).
      await peer!.waitFor('no renegotiation');
    } finally {
      await client.close();
    }
  });

  it('times out (no crash) when the key is wrong: OpenSSL drops our Finished silently', async () => {
    const port = await startServer('PSK-AES128-CCM8');
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port },
        psk: { identity: 'id1', key: Buffer.from('wrong') },
        timeout: 1500,
        retransmit: { initialMs: 200 },
      }),
    ).rejects.toBeInstanceOf(DtlsTimeoutError);
  });
});

describe('interoperability with openssl s_client (our server)', () => {
  let peer: SpawnedPeer | undefined;
  let server: DtlsServer | undefined;
  afterEach(async () => {
    await peer?.kill();
    await server?.close();
    peer = undefined;
    server = undefined;
  });

  async function start(cipher: string, key = KEY_HEX): Promise<DtlsServer> {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async (identity) => (identity === 'id1' ? KEY : undefined) },
    });
    await server.listen();
    const { port } = server.address();
    peer = spawnPeer('openssl', [
      's_client',
      '-dtls1_2',
      '-connect',
      `127.0.0.1:${port}`,
      '-psk_identity',
      'id1',
      '-psk',
      key,
      '-cipher',
      cipher,
    ]);
    return server;
  }

  it.each(SUITES)(
    'accepts %s (with a HelloVerifyRequest cookie) and exchanges data both ways',
    async (cipher) => {
      const s = await start(cipher);
      const received = new Promise<DatagramMessage>((resolve) => s.on('message', resolve));
      await peer!.waitFor(`Cipher is ${cipher}`);
      expect(peer!.output()).toContain('Extended master secret: yes');
      peer!.process.stdin.write('hello from s_client\n');
      const message = await received;
      expect(Buffer.from(message.data).toString()).toBe('hello from s_client\n');
      expect(message.identity).toEqual({ kind: 'psk', identity: 'id1' });
      await s.send(Buffer.from('answer from node\n'), message.peer);
      await peer!.waitFor('answer from node');
    },
  );

  it('lets s_client resume its session (-sess_out / -sess_in) without a second PSK lookup', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtls-sess-'));
    try {
      let lookups = 0;
      server = createDtlsServer({
        port: 0,
        address: '127.0.0.1',
        psk: {
          lookup: async () => {
            lookups++;
            return KEY;
          },
        },
      });
      await server.listen();
      const { port } = server.address();
      const args = [
        's_client',
        '-dtls1_2',
        '-connect',
        `127.0.0.1:${port}`,
        '-psk_identity',
        'id1',
        '-psk',
        KEY_HEX,
        '-cipher',
        'PSK-AES128-CCM8',
      ];
      peer = spawnPeer('openssl', [...args, '-sess_out', join(dir, 'session.pem')]);
      await peer.waitFor('New, TLSv1.2');
      peer.process.stdin.write('Q\n');
      await peer.waitFor('DONE');
      await peer.kill();
      peer = spawnPeer('openssl', [...args, '-sess_in', join(dir, 'session.pem')]);
      await peer.waitFor('Reused, TLSv1.2');
      expect(lookups).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a wrong PSK with a bad_record_mac alert and keeps no association', async () => {
    const s = await start('PSK-AES128-CCM8', '0102030405');
    await peer!.waitFor('alert bad record mac');
    await delay(50);
    expect(s.associationCount).toBe(0);
  });

  it('refuses the renegotiation s_client starts (ClientHello in the session) with no_renegotiation', async () => {
    const s = await start('PSK-AES128-CCM8');
    await peer!.waitFor('Cipher is');
    peer!.process.stdin.write('R\n'); // s_client: "R" renegotiates
    await peer!.waitFor('no renegotiation');
    expect(s.associationCount).toBeLessThanOrEqual(1);
  });

  it('closes the association when the client sends close_notify', async () => {
    const s = await start('PSK-AES128-CCM8');
    await peer!.waitFor('Cipher is');
    await delay(50);
    expect(s.associationCount).toBe(1);
    peer!.process.stdin.write('Q\n'); // s_client: "Q" ends the connection with close_notify
    for (let i = 0; i < 50 && s.associationCount > 0; i++) await delay(20);
    expect(s.associationCount).toBe(0);
  });
});
