/**
 * The full flow with our three parts on loopback: the client knows only a NoSec bootstrap server;
 * the bootstrap server provisions a PSK account for our LwM2M server (and puts the key into the
 * security store the server shares); the client registers over DTLS. Also: a provisioned server
 * that never answers sends the client back to bootstrap.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { ContentFormat } from '@lwm2m/core';
import { createMemoryBootstrapConfigStore } from '@lwm2m/bootstrap';
import type {
  BootstrapConfig,
  BootstrapConfigStore,
  BootstrapFinishEvent,
  BootstrapRefusedEvent,
  BootstrapRequestEvent,
  BootstrapServer,
} from '@lwm2m/bootstrap';
import { createClient, TemperatureSensor } from '@lwm2m/client';
import type { BootstrapOperation, Lwm2mClient, RegistrationFailure, RegistrationInfo } from '@lwm2m/client';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createDtlsServer } from '@lwm2m/transport-dtls';
import type { Lwm2mVersion, Registration } from '@lwm2m/server';
import {
  FAST_COAP,
  HOST,
  NO_RETRY,
  loopbackTransport,
  startBootstrap,
  startServer,
  valueOf,
  waitFor,
} from './loopback.js';
import type { TestServer } from './loopback.js';

const KEY = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex');

function pskConfig(coapsUri: string, identity: string, lifetime = 60): BootstrapConfig {
  return {
    security: [{ uri: coapsUri, ssid: 1, mode: 'psk', identity, key: KEY }],
    servers: [{ ssid: 1, lifetime, binding: 'U' }],
  };
}

describe('bootstrap, then registration over DTLS', () => {
  let t: TestServer;
  let bootstrap: BootstrapServer;
  let configStore: BootstrapConfigStore;
  let bootstrapUri: string;
  const clients: Lwm2mClient[] = [];
  const blackHoles: Socket[] = [];

  beforeEach(async () => {
    t = await startServer({ dtls: true });
    configStore = createMemoryBootstrapConfigStore();
    const udp = await createUdpSocket({ address: HOST, port: 0 });
    bootstrap = await startBootstrap(udp, configStore, t.security);
    bootstrapUri = `coap://${HOST}:${udp.address().port}`;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const socket of blackHoles.splice(0)) socket.close();
    await bootstrap?.close();
    await t?.close();
  });

  function device(endpoint: string, version: Lwm2mVersion): Lwm2mClient {
    const client = createClient({
      endpoint,
      version,
      transport: loopbackTransport(),
      bootstrap: { uri: bootstrapUri },
      device: { manufacturer: `Boot ${version}` },
      objects: [{ id: 3303, instances: new Map([[0, new TemperatureSensor({ initial: 20 })]]) }],
      transmission: FAST_COAP,
      requestTimeout: 2_000,
      bootstrapTimeout: 10_000,
      retry: NO_RETRY,
    });
    clients.push(client);
    return client;
  }

  test.each([
    ['1.0', ContentFormat.TLV],
    ['1.1', ContentFormat.SENML_CBOR],
  ] as const)(
    'LwM2M %s: bootstrap provisions PSK (format %d), the client registers over CoAPS',
    async (version, format) => {
      const endpoint = `e2e-bs-${version}`;
      await configStore.put(endpoint, pskConfig(t.coapsUri, `${endpoint}-psk`));
      const client = device(endpoint, version);
      const operations: BootstrapOperation[] = [];
      client.on('bootstrap-operation', (op) => operations.push(op));

      const finished = waitFor<[BootstrapFinishEvent]>(
        bootstrap,
        'bootstrap-finish',
        (e) => e.endpoint === endpoint,
        10_000,
      );
      const registered = waitFor<[Registration]>(
        t.server,
        'registered',
        (r) => r.endpoint === endpoint,
        15_000,
      );
      await client.start();

      const [finish] = await finished;
      expect(finish.contentFormat).toBe(format);
      expect(finish.operations).toEqual(expect.arrayContaining(['DELETE /0', 'DELETE /1', 'POST /bs']));
      expect(finish.operations.filter((o) => o.startsWith('PUT /0/'))).toHaveLength(1);
      expect(finish.operations.filter((o) => o.startsWith('PUT /1/'))).toHaveLength(1);
      expect(operations.map((o) => o.operation)).toContain('finish');
      // The key for the server went into the store the server checks.
      expect(await t.security.getByEndpoint(endpoint)).toMatchObject({
        mode: 'psk',
        identity: `${endpoint}-psk`,
      });

      const [registration] = await registered;
      expect(registration).toMatchObject({
        version,
        transport: 'coaps',
        lifetime: 60,
        identity: { kind: 'psk', identity: `${endpoint}-psk` },
      });
      expect(valueOf(await t.server.read(endpoint, '/3/0/0'))).toBe(`Boot ${version}`);
      // The provisioned Server instance is what the client runs on.
      expect(valueOf(await t.server.read(endpoint, '/1/0/1'))).toBe(60);
      const links = await t.server.discover(endpoint, '/1');
      expect(links.map((l) => l.path.join('/'))).toContain('1/0');
    },
  );

  test('Bootstrap-Request Trigger (1/0/9) from the server: deregister, bootstrap again, register again', async () => {
    const endpoint = 'e2e-bs-trigger';
    await configStore.put(endpoint, pskConfig(t.coapsUri, `${endpoint}-psk`));
    const client = device(endpoint, '1.1');
    const first = waitFor<[Registration]>(t.server, 'registered', (r) => r.endpoint === endpoint, 10_000);
    const clientRegistered = waitFor(client, 'registered', () => true, 10_000);
    await client.start();
    const [registration] = await first;
    await clientRegistered;

    // The operator changes the lifetime; the new bootstrap hands it out.
    await configStore.put(endpoint, pskConfig(t.coapsUri, `${endpoint}-psk`, 90));
    const deregistered = waitFor<[Registration]>(
      t.server,
      'deregistered',
      (r) => r.endpoint === endpoint,
      10_000,
    );
    const bootstrapped = waitFor<[BootstrapFinishEvent]>(
      bootstrap,
      'bootstrap-finish',
      (e) => e.endpoint === endpoint,
      10_000,
    );
    const second = waitFor<[Registration]>(t.server, 'registered', (r) => r.endpoint === endpoint, 10_000);
    await t.server.execute(endpoint, '/1/0/9');
    const [gone] = await deregistered;
    expect(gone.id).toBe(registration.id);
    await bootstrapped;
    const [again] = await second;
    expect(again).toMatchObject({ lifetime: 90, transport: 'coaps' });
    expect(again.id).not.toBe(registration.id);
  });

  test('a provisioned server that never answers sends the client back to bootstrap', async () => {
    const endpoint = 'e2e-bs-rebootstrap';
    // A UDP port that swallows everything: registration times out.
    const hole = createSocket('udp4');
    blackHoles.push(hole);
    await new Promise<void>((resolve) => hole.bind(0, HOST, resolve));
    const deadUri = `coap://${HOST}:${hole.address().port}`;
    await configStore.put(endpoint, {
      security: [{ uri: deadUri, ssid: 1, mode: 'nosec' }],
      servers: [{ ssid: 1, lifetime: 60 }],
    });
    const client = device(endpoint, '1.1');
    const requests: BootstrapRequestEvent[] = [];
    bootstrap.on('bootstrap-request', (e) => requests.push(e));

    const firstFinish = waitFor<[BootstrapFinishEvent]>(
      bootstrap,
      'bootstrap-finish',
      (e) => e.endpoint === endpoint,
      10_000,
    );
    const failed = waitFor<[RegistrationFailure]>(client, 'registration-failed', (f) => f.final, 15_000);
    await client.start();
    await firstFinish;
    // Meanwhile the operator fixes the config: the next bootstrap hands out the real server.
    await configStore.put(endpoint, pskConfig(t.coapsUri, `${endpoint}-psk`));
    const registered = waitFor<[Registration]>(
      t.server,
      'registered',
      (r) => r.endpoint === endpoint,
      15_000,
    );
    const clientRegistered = waitFor<[RegistrationInfo]>(client, 'registered', () => true, 15_000);

    const [failure] = await failed;
    expect(failure.ssid).toBe(1);
    const [registration] = await registered;
    expect(registration).toMatchObject({
      transport: 'coaps',
      identity: { kind: 'psk', identity: `${endpoint}-psk` },
    });
    const [info] = await clientRegistered;
    expect(info.uri).toBe(t.coapsUri);
    expect(requests.filter((r) => r.endpoint === endpoint)).toHaveLength(2);
    expect(valueOf(await t.server.read(endpoint, '/3/0/0'))).toBe('Boot 1.1');
  }, 25_000);

  test("bootstrap over DTLS-PSK: the bootstrap identity must be the endpoint's own", async () => {
    const bsKey = Buffer.from('0102030405060708', 'hex');
    const dtls = createDtlsServer({
      address: HOST,
      port: 0,
      psk: { lookup: (identity) => configStore.getBootstrapPsk(identity) },
    });
    await dtls.listen();
    const secureBootstrap = await startBootstrap(dtls, configStore, t.security);
    try {
      const bsUri = `coaps://${HOST}:${dtls.address().port}`;
      for (const name of ['e2e-bs-dtls-a', 'e2e-bs-dtls-b']) {
        await configStore.put(name, {
          security: [
            { uri: bsUri, bootstrap: true, mode: 'psk', identity: `${name}-bs`, key: bsKey },
            { uri: t.coapsUri, ssid: 1, mode: 'psk', identity: `${name}-psk`, key: KEY },
          ],
          servers: [{ ssid: 1, lifetime: 60 }],
        });
      }
      function secureDevice(endpoint: string, identity: string): Lwm2mClient {
        const client = createClient({
          endpoint,
          transport: loopbackTransport(),
          bootstrap: { uri: bsUri, psk: { identity, key: bsKey } },
          transmission: FAST_COAP,
          requestTimeout: 2_000,
          bootstrapTimeout: 10_000,
          retry: { ...NO_RETRY, initialDelay: 60_000 },
        });
        clients.push(client);
        return client;
      }

      // b's identity (its key is right too) used by a: refused, nothing provisioned.
      const impostor = secureDevice('e2e-bs-dtls-a', 'e2e-bs-dtls-b-bs');
      const refused = waitFor<[BootstrapRefusedEvent]>(
        secureBootstrap,
        'bootstrap-refused',
        () => true,
        10_000,
      );
      const impostorFailed = waitFor(impostor, 'bootstrap-failed', () => true, 10_000);
      await impostor.start();
      const [refusal] = await refused;
      expect(refusal).toMatchObject({ endpoint: 'e2e-bs-dtls-a', reason: 'unauthorized' });
      await impostorFailed;
      await impostor.close();

      const client = secureDevice('e2e-bs-dtls-b', 'e2e-bs-dtls-b-bs');
      const finished = waitFor<[BootstrapFinishEvent]>(
        secureBootstrap,
        'bootstrap-finish',
        () => true,
        10_000,
      );
      const registered = waitFor<[Registration]>(
        t.server,
        'registered',
        (r) => r.endpoint === 'e2e-bs-dtls-b',
        15_000,
      );
      await client.start();
      const [finish] = await finished;
      expect(finish.identity).toEqual({ kind: 'psk', identity: 'e2e-bs-dtls-b-bs' });
      const [registration] = await registered;
      expect(registration.identity).toEqual({ kind: 'psk', identity: 'e2e-bs-dtls-b-psk' });
      // The bootstrap account survived the session (Bootstrap-Delete never removes it).
      const security = await client.read('/0');
      const ids = security.kind === 'object' ? [...security.instances.keys()] : [];
      const accounts = await Promise.all(
        ids.map(async (id) => [await client.instance(0, id)?.read(1), await client.instance(0, id)?.read(0)]),
      );
      expect(accounts).toEqual(
        expect.arrayContaining([
          [true, bsUri],
          [false, t.coapsUri],
        ]),
      );
      expect(accounts).toHaveLength(2);
    } finally {
      await secureBootstrap.close();
      await dtls.close();
    }
  }, 25_000);
});
