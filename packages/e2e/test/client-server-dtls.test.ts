/**
 * Our client against our server over DTLS-PSK on loopback: the key comes from the server's
 * security store; a wrong identity or key never registers; NoSec is refused for an endpoint that
 * has security info; DM and observe run over the DTLS session.
 */
import { createClient, TemperatureSensor } from '@lwm2m/client';
import type { ConnectTarget, Lwm2mClient, RegistrationFailure, RegistrationInfo } from '@lwm2m/client';
import type { Registration } from '@lwm2m/server';
import {
  FAST_COAP,
  NO_RETRY,
  loopbackTransport,
  nextValue,
  observedValue,
  startServer,
  valueOf,
  waitFor,
} from './loopback.js';
import type { TestServer } from './loopback.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const OTHER_KEY = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex');

describe('client and server over DTLS-PSK', () => {
  let t: TestServer;
  const clients: Lwm2mClient[] = [];

  beforeEach(async () => {
    t = await startServer({ dtls: true });
    await t.security.put({ endpoint: 'e2e-dtls', mode: 'psk', identity: 'e2e-dtls-id', key: KEY });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await t?.close();
  });

  function device(options: {
    uri: string;
    identity?: string;
    key?: Uint8Array;
    sensor?: TemperatureSensor;
    targets?: ConnectTarget[];
  }): Lwm2mClient {
    const client = createClient({
      endpoint: 'e2e-dtls',
      transport: loopbackTransport(options.targets),
      servers: [
        {
          uri: options.uri,
          ssid: 1,
          lifetime: 60,
          ...(options.identity === undefined || options.key === undefined
            ? {}
            : { psk: { identity: options.identity, key: options.key } }),
        },
      ],
      device: { manufacturer: 'Secure Acme' },
      objects: [
        { id: 3303, instances: new Map([[0, options.sensor ?? new TemperatureSensor({ initial: 20 })]]) },
      ],
      transmission: FAST_COAP,
      requestTimeout: 2_000,
      retry: NO_RETRY,
    });
    clients.push(client);
    return client;
  }

  test('registers with the stored identity; the server reads and observes over DTLS', async () => {
    const sensor = new TemperatureSensor({ initial: 20 });
    const targets: ConnectTarget[] = [];
    const client = device({ uri: t.coapsUri, identity: 'e2e-dtls-id', key: KEY, sensor, targets });
    const registered = waitFor<[Registration]>(t.server, 'registered');
    await client.start();
    const [registration] = await registered;
    expect(registration).toMatchObject({
      endpoint: 'e2e-dtls',
      transport: 'coaps',
      identity: { kind: 'psk', identity: 'e2e-dtls-id' },
    });
    expect(targets).toEqual([
      expect.objectContaining({
        secure: true,
        security: { mode: 'psk', identity: 'e2e-dtls-id', key: new Uint8Array(KEY) },
      }),
    ]);

    expect(valueOf(await t.server.read('e2e-dtls', '/3/0/0'))).toBe('Secure Acme');
    await t.server.write('e2e-dtls', '/3/0/14', '+04:00');
    expect(valueOf(await t.server.read('e2e-dtls', '/3/0/14'))).toBe('+04:00');

    const observation = await t.server.observe('e2e-dtls', '/3303/0/5700');
    try {
      expect(observedValue(await nextValue(observation))).toBe(20);
      sensor.setValue(26);
      expect(observedValue(await nextValue(observation))).toBe(26);
    } finally {
      await observation.cancel();
    }

    // Block-wise inside DTLS records: 3 KB each way.
    const long = 'x'.repeat(1500) + 'y'.repeat(1500);
    await t.server.write('e2e-dtls', '/3303/0/5750', long);
    expect(valueOf(await t.server.read('e2e-dtls', '/3303/0/5750'))).toBe(long);

    const deregistered = waitFor<[Registration]>(t.server, 'deregistered');
    await client.close();
    await deregistered;
  });

  test('an unknown identity never registers', async () => {
    const client = device({ uri: t.coapsUri, identity: 'who-am-i', key: KEY });
    const failed = waitFor<[RegistrationFailure]>(client, 'registration-failed', () => true, 10_000);
    const registered: Registration[] = [];
    t.server.on('registered', (r) => registered.push(r));
    await client.start();
    const [failure] = await failed;
    expect(failure).toMatchObject({ ssid: 1, final: true });
    expect(registered).toEqual([]);
    expect(await t.server.getRegistration('e2e-dtls')).toBeUndefined();
  });

  test('the right identity with a wrong key never registers', async () => {
    const client = device({ uri: t.coapsUri, identity: 'e2e-dtls-id', key: OTHER_KEY });
    const failed = waitFor<[RegistrationFailure]>(client, 'registration-failed', () => true, 10_000);
    await client.start();
    const [failure] = await failed;
    expect(failure).toMatchObject({ ssid: 1, final: true });
    expect(await t.server.getRegistration('e2e-dtls')).toBeUndefined();
  });

  test("another endpoint's valid identity is refused with 4.03", async () => {
    await t.security.put({
      endpoint: 'someone-else',
      mode: 'psk',
      identity: 'someone-else-id',
      key: OTHER_KEY,
    });
    const client = device({ uri: t.coapsUri, identity: 'someone-else-id', key: OTHER_KEY });
    const failed = waitFor<[RegistrationFailure]>(client, 'registration-failed', () => true, 10_000);
    await client.start();
    const [failure] = await failed;
    expect(failure.error).toMatchObject({ coapCode: (4 << 5) | 3 });
    expect(await t.server.getRegistration('e2e-dtls')).toBeUndefined();
  });

  test('NoSec registration of an endpoint that has security info is refused', async () => {
    const client = device({ uri: t.coapUri });
    const failed = waitFor<[RegistrationFailure]>(client, 'registration-failed');
    const registered: RegistrationInfo[] = [];
    client.on('registered', (info) => registered.push(info));
    await client.start();
    const [failure] = await failed;
    expect(failure.error).toMatchObject({ coapCode: (4 << 5) | 3 });
    expect(registered).toEqual([]);
    expect(await t.server.getRegistration('e2e-dtls')).toBeUndefined();
  });

  // A restarted server has lost the DTLS session and drops its records: the client must handshake again.
  test('after the server restarts (DTLS sessions lost) the client registers again with a new handshake', async () => {
    const client = createClient({
      endpoint: 'e2e-dtls',
      transport: loopbackTransport(),
      servers: [{ uri: t.coapsUri, ssid: 1, lifetime: 60, psk: { identity: 'e2e-dtls-id', key: KEY } }],
      device: { manufacturer: 'Secure Acme' },
      objects: [{ id: 3303, instances: new Map([[0, new TemperatureSensor({ initial: 20 })]]) }],
      transmission: FAST_COAP,
      requestTimeout: 1_500,
      retry: { attempts: 10, initialDelay: 200, maxDelay: 500, sequenceDelay: 3_600_000 },
    });
    clients.push(client);
    const registered = waitFor<[Registration]>(t.server, 'registered');
    const clientRegistered = waitFor(client, 'registered');
    await client.start();
    await registered;
    await clientRegistered;

    // A new server process on the same ports, with the same keys but none of the old sessions.
    const coapsPort = Number(new URL(t.coapsUri).port);
    await t.close();
    t = await startServer({ dtls: true, coapsPort });
    await t.security.put({ endpoint: 'e2e-dtls', mode: 'psk', identity: 'e2e-dtls-id', key: KEY });

    const again = waitFor<[Registration]>(t.server, 'registered', () => true, 12_000);
    client.addInstance(3303, 1, new TemperatureSensor({ initial: 1 })); // the next Update finds the session gone
    const [registration] = await again;
    expect(registration).toMatchObject({ endpoint: 'e2e-dtls', transport: 'coaps' });
    expect(valueOf(await t.server.read('e2e-dtls', '/3303/1/5700'))).toBe(1);
  }, 20_000);
});
