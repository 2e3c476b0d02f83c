import { once } from 'node:events';
import { ContentFormat } from '@lwm2m/core';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsServer } from '@lwm2m/transport-dtls';
import { CoapCode } from '@lwm2m/transport-coap';
import { createClient, dtlsCredentials } from '../src/index.js';
import type { ClientTransport, ConnectTarget, Lwm2mClient } from '../src/index.js';
import { FakeServer, text } from './fake-server.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

/** PSK from the Security object reaches the transport; the server sees the identity on every request. */
describe('client over DTLS (PSK)', () => {
  let dtls: DtlsServer;
  let server: FakeServer;
  let client: Lwm2mClient;
  const targets: ConnectTarget[] = [];

  const transport: ClientTransport = {
    async connect(target, signal) {
      targets.push(target);
      if (!target.secure || target.security === undefined) throw new Error('expected coaps with PSK');
      return connectDtls({
        peer: { address: target.host, port: target.port },
        ...dtlsCredentials(target.security),
        localAddress: '127.0.0.1',
        signal,
        timeout: 10_000,
      });
    },
  };

  beforeAll(async () => {
    dtls = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: (identity) => Promise.resolve(identity === 'dev-1' ? KEY : undefined) },
    });
    await dtls.listen();
    server = new FakeServer(dtls);
    client = createClient({
      endpoint: 'dtls-test',
      transport,
      servers: [
        { uri: `coaps://127.0.0.1:${dtls.address().port}`, ssid: 2, psk: { identity: 'dev-1', key: KEY } },
      ],
      device: { manufacturer: 'Acme' },
    });
    const registered = once(client, 'registered');
    await client.start();
    await registered;
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('connects with the identity and key of the Security object', () => {
    expect(targets).toEqual([
      {
        uri: `coaps://127.0.0.1:${dtls.address().port}`,
        host: '127.0.0.1',
        port: dtls.address().port,
        secure: true,
        security: { mode: 'psk', identity: 'dev-1', key: new Uint8Array(KEY) },
      },
    ]);
    expect(server.requests[0]?.query).toContain('ep=dtls-test');
  });

  it('serves DM requests on the same DTLS session', async () => {
    const response = await server.request({ method: 'GET', path: '/3/0/0', accept: ContentFormat.TEXT });
    expect(response.code).toBe(CoapCode.CONTENT);
    expect(text(response)).toBe('Acme');
  });
});
