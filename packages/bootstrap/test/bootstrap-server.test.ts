import { once } from 'node:events';
import { ContentFormat, createMemorySecurityStore, objectInstance, singleResource } from '@lwm2m/core';
import type { ObjectInstanceNode, ObjectNode, ResourceNode } from '@lwm2m/core';
import { CoapCode, createCoapEndpoint, createMemorySocketPair, createUdpSocket } from '@lwm2m/transport-coap';
import type { MemorySocket } from '@lwm2m/transport-coap';
import { createBootstrapServer, createMemoryBootstrapConfigStore } from '../src/index.js';
import type {
  BootstrapConfig,
  BootstrapConfigStore,
  BootstrapFailedEvent,
  BootstrapFinishEvent,
  BootstrapRefusedEvent,
  BootstrapServer,
  BootstrapServerOptions,
  Clock,
} from '../src/index.js';
import { FakeBootstrapClient } from './fake-client.js';
import { nextFinish } from './next-finish.js';
import type { FakeClientOptions } from './fake-client.js';

const KEY = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));

function value(node: ObjectInstanceNode | undefined, id: number): unknown {
  const resource: ResourceNode | undefined = node?.resources.get(id);
  return resource?.kind === 'resource' ? resource.value : undefined;
}

/** The config of most tests: one PSK LwM2M server with explicit instance ids. */
function pskConfig(overrides: Partial<BootstrapConfig> = {}): BootstrapConfig {
  return {
    security: [
      {
        instanceId: 1,
        uri: 'coaps://127.0.0.1:5684',
        ssid: 101,
        mode: 'psk',
        identity: 'dev-1-id',
        key: KEY,
        holdOffTime: 5,
      },
    ],
    servers: [
      {
        instanceId: 0,
        ssid: 101,
        lifetime: 300,
        pmin: 10,
        pmax: 60,
        binding: 'UQ',
        notificationStoring: false,
        disableTimeout: 86400,
      },
    ],
    ...overrides,
  };
}

/** A fake clock: 0 ms timers run on the next macrotask, longer ones when `advance` passes them. */
function createFakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  const timers = new Map<number, { at: number; callback: () => void }>();
  let nextId = 1;
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      if (ms <= 0) setImmediate(() => timers.has(id) && (timers.delete(id), callback()));
      timers.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at <= now) {
          timers.delete(id);
          timer.callback();
        }
      }
    },
  };
}

interface Harness {
  server: BootstrapServer;
  client: FakeBootstrapClient;
  serverSocket: MemorySocket;
  clientSocket: MemorySocket;
  refused: BootstrapRefusedEvent[];
  failed: BootstrapFailedEvent[];
  finished: BootstrapFinishEvent[];
}

describe('bootstrap server over an in-memory socket', () => {
  const cleanup: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const task of cleanup.splice(0).reverse()) await task();
  });

  async function setup(
    configs: Record<string, BootstrapConfig>,
    clientOptions: Partial<FakeClientOptions> = {},
    serverOptions: Partial<BootstrapServerOptions> = {},
  ): Promise<Harness> {
    const [serverSocket, clientSocket] = createMemorySocketPair();
    const configStore: BootstrapConfigStore =
      serverOptions.configStore ?? createMemoryBootstrapConfigStore(configs);
    const server = createBootstrapServer({ sockets: [serverSocket], ...serverOptions, configStore });
    const refused: BootstrapRefusedEvent[] = [];
    const failed: BootstrapFailedEvent[] = [];
    const finished: BootstrapFinishEvent[] = [];
    server.on('bootstrap-refused', (e) => refused.push(e));
    server.on('bootstrap-failed', (e) => failed.push(e));
    server.on('bootstrap-finish', (e) => finished.push(e));
    await server.listen();
    const client = new FakeBootstrapClient({ socket: clientSocket, endpoint: 'dev-1', ...clientOptions });
    cleanup.push(
      () => server.close(),
      () => client.close(),
    );
    return { server, client, serverSocket, clientSocket, refused, failed, finished };
  }

  it('provisions a LwM2M 1.0 client in TLV: Delete /0 and /1, one Write per instance, Finish', async () => {
    const h = await setup({ 'dev-1': pskConfig() }, { version: '1.0' });
    const finish = nextFinish(h.server);
    const response = await h.client.requestBootstrap(h.serverSocket.local);
    expect(response.code).toBe(CoapCode.CHANGED);
    await finish;
    await h.client.finished;

    expect(h.client.operations()).toEqual(['DELETE /0', 'DELETE /1', 'PUT /0/1', 'PUT /1/0', 'POST /bs']);
    for (const write of h.client.requests.filter((r) => r.method === 'PUT'))
      expect(write.contentFormat).toBe(ContentFormat.TLV);

    const security = h.client.instance(0, 1);
    expect(value(security, 0)).toBe('coaps://127.0.0.1:5684');
    expect(value(security, 1)).toBe(false);
    expect(value(security, 2)).toBe(0);
    expect(Buffer.from(value(security, 3) as Uint8Array).toString('utf8')).toBe('dev-1-id');
    expect(value(security, 5)).toEqual(KEY);
    expect(value(security, 10)).toBe(101);
    expect(value(security, 11)).toBe(5);
    const serverInstance = h.client.instance(1, 0);
    expect([0, 1, 2, 3, 5, 6, 7].map((id) => value(serverInstance, id))).toEqual([
      101,
      300,
      10,
      60,
      86400,
      false,
      'UQ',
    ]);
    // The client kept its bootstrap account and its Device object.
    expect(value(h.client.instance(0, 0), 1)).toBe(true);
    expect(h.client.instance(3, 0)).toBeDefined();

    expect(h.finished).toHaveLength(1);
    expect(h.finished[0]).toMatchObject({
      endpoint: 'dev-1',
      peer: h.clientSocket.local,
      contentFormat: ContentFormat.TLV,
      operations: ['DELETE /0', 'DELETE /1', 'PUT /0/1', 'PUT /1/0', 'POST /bs'],
      discovered: undefined,
    });
    expect(h.server.sessions()).toEqual([]);
  });

  it.each([
    [ContentFormat.SENML_CBOR, ContentFormat.SENML_CBOR],
    [ContentFormat.LWM2M_CBOR, ContentFormat.LWM2M_CBOR],
    [1542, ContentFormat.TLV],
  ])('writes in the format of pct=%i', async (pct, expected) => {
    const h = await setup({ 'dev-1': pskConfig() });
    const finish = nextFinish(h.server);
    await h.client.requestBootstrap(h.serverSocket.local, { pct });
    await finish;
    const writes = h.client.requests.filter((r) => r.method === 'PUT');
    expect(writes.map((w) => w.contentFormat)).toEqual([expected, expected]);
    expect(value(h.client.instance(0, 1), 5)).toEqual(KEY);
  });

  it('runs Discover and Read on a 1.1 client, keeps ids off its bootstrap account and writes OSCORE and other objects', async () => {
    const acl = objectInstance(0, [
      singleResource(0, 'integer', 1),
      singleResource(1, 'integer', 0),
      singleResource(3, 'integer', 101),
    ]);
    const config: BootstrapConfig = {
      read: ['/1'],
      delete: ['/', '/0/3'],
      security: [
        { uri: 'coap://127.0.0.1:5783', bootstrap: true, mode: 'nosec', accountTimeout: 600 },
        {
          uri: 'coaps://127.0.0.1:5684',
          ssid: 101,
          mode: 'psk',
          identity: 'dev-1-id',
          key: KEY,
          oscoreInstanceId: 4,
        },
        { uri: 'coap://127.0.0.1:5685', ssid: 102, mode: 'nosec' },
      ],
      servers: [
        { ssid: 101, lifetime: 300 },
        { ssid: 102, lifetime: 600, binding: 'T' },
      ],
      oscore: [
        {
          instanceId: 4,
          masterSecret: KEY,
          senderId: Uint8Array.of(1),
          recipientId: Uint8Array.of(2),
          aeadAlgorithm: 10,
        },
      ],
      objects: [{ objectId: 2, instance: acl }],
    };
    const old = objectInstance(7, [
      singleResource(0, 'integer', 9),
      singleResource(1, 'integer', 60),
      singleResource(6, 'boolean', true),
      singleResource(7, 'string', 'U'),
    ]);
    const h = await setup(
      { 'dev-1': config },
      { version: '1.1', bootstrapInstanceId: 3, initial: [{ objectId: 1, instance: old }] },
    );
    const finish = nextFinish(h.server);
    await h.client.requestBootstrap(h.serverSocket.local, { pct: ContentFormat.SENML_CBOR });
    const [event] = (await finish) as [BootstrapFinishEvent];

    // The delete of /0/3 (the client's bootstrap account, as Discover showed) is not sent.
    expect(h.client.operations()).toEqual([
      'GET /',
      'GET /1',
      'DELETE /',
      'PUT /0/3',
      'PUT /0/0',
      'PUT /0/1',
      'PUT /1/0',
      'PUT /1/1',
      'PUT /21/4',
      'PUT /2/0',
      'POST /bs',
    ]);
    expect(h.client.requests[0]?.accept).toBe(ContentFormat.LINK);
    expect(h.client.requests[1]?.accept).toBe(ContentFormat.SENML_CBOR);
    expect(event.lwm2mVersion).toBe('1.1');
    expect(event.reads.get('/1')).toMatchObject({ kind: 'object', id: 1 });
    expect(value((event.reads.get('/1') as ObjectNode).instances.get(7), 0)).toBe(9);

    expect(value(h.client.instance(0, 3), 1)).toBe(true);
    expect(value(h.client.instance(0, 3), 12)).toBe(600);
    expect(value(h.client.instance(0, 0), 10)).toBe(101);
    expect(value(h.client.instance(0, 0), 17)).toEqual({ objectId: 21, instanceId: 4 });
    expect(value(h.client.instance(0, 1), 10)).toBe(102);
    expect(value(h.client.instance(0, 1), 2)).toBe(3);
    expect(value(h.client.instance(1, 1), 7)).toBe('T');
    expect(value(h.client.instance(21, 4), 0)).toEqual(KEY);
    expect(value(h.client.instance(2, 0), 3)).toBe(101);
    expect(h.client.instance(1, 7)).toBeUndefined();
  });

  it('skips Bootstrap-Read on a client whose Discover says 1.0', async () => {
    const h = await setup({ 'dev-1': pskConfig({ discover: true, read: ['/1'] }) }, { version: '1.0' });
    const finish = nextFinish(h.server);
    await h.client.requestBootstrap(h.serverSocket.local);
    const [event] = (await finish) as [BootstrapFinishEvent];
    expect(h.client.operations()).toEqual([
      'GET /',
      'DELETE /0',
      'DELETE /1',
      'PUT /0/1',
      'PUT /1/0',
      'POST /bs',
    ]);
    expect(event.lwm2mVersion).toBe('1.0');
  });

  it.each([
    ['no ep', ['pct=112']],
    ['an empty ep', ['ep=']],
    ['ep twice', ['ep=dev-1', 'ep=dev-2']],
    ['a pct that is no number', ['ep=dev-1', 'pct=cbor']],
    ['a pct that cannot carry instances', ['ep=dev-1', 'pct=0']],
  ])('answers 4.00 to a Bootstrap-Request with %s', async (_name, query) => {
    const h = await setup({ 'dev-1': pskConfig() });
    const response = await h.client.requestBootstrap(h.serverSocket.local, { query });
    expect(response.code).toBe(CoapCode.BAD_REQUEST);
    expect(h.refused).toMatchObject([{ reason: 'malformed', responseCode: CoapCode.BAD_REQUEST }]);
    expect(h.server.sessions()).toEqual([]);
  });

  it('answers 4.05 to other methods on /bs and 4.04 elsewhere', async () => {
    const h = await setup({ 'dev-1': pskConfig() });
    const get = await h.client.coap.request({
      peer: h.serverSocket.local,
      method: 'GET',
      path: '/bs',
      query: 'ep=dev-1',
    });
    const rd = await h.client.coap.request({
      peer: h.serverSocket.local,
      method: 'POST',
      path: '/rd',
      query: 'ep=dev-1',
    });
    expect([get.code, rd.code]).toEqual([CoapCode.METHOD_NOT_ALLOWED, CoapCode.NOT_FOUND]);
  });

  it('refuses an unknown endpoint with 4.00 by default and 4.03 when configured', async () => {
    const h = await setup({ other: pskConfig() });
    expect((await h.client.requestBootstrap(h.serverSocket.local)).code).toBe(CoapCode.BAD_REQUEST);
    expect(h.refused).toMatchObject([{ endpoint: 'dev-1', reason: 'unknown-endpoint' }]);
    const f = await setup({ other: pskConfig() }, {}, { unknownEndpoint: 'forbidden' });
    expect((await f.client.requestBootstrap(f.serverSocket.local)).code).toBe(CoapCode.FORBIDDEN);
    expect(h.client.requests).toEqual([]);
  });

  it('serves an endpoint without its own config from the most specific pattern', async () => {
    const wide = pskConfig({ servers: [{ instanceId: 0, ssid: 101, lifetime: 11 }] });
    const narrow = pskConfig({ servers: [{ instanceId: 0, ssid: 101, lifetime: 22 }] });
    const h = await setup({ '*': wide, 'dev-*': narrow });
    const finish = nextFinish(h.server);
    await h.client.requestBootstrap(h.serverSocket.local);
    await finish;
    expect(value(h.client.instance(1, 0), 1)).toBe(22);
  });

  it('reports a refused write as bootstrap-failed with the step, path and code, and sends nothing after it', async () => {
    const h = await setup(
      { 'dev-1': pskConfig() },
      { failWith: (r) => (r.method === 'PUT' && r.path === '/1/0' ? CoapCode.BAD_REQUEST : undefined) },
    );
    const failed = once(h.server, 'bootstrap-failed');
    await h.client.requestBootstrap(h.serverSocket.local);
    const [event] = (await failed) as [BootstrapFailedEvent];
    expect(event).toMatchObject({
      endpoint: 'dev-1',
      step: 'write',
      path: '/1/0',
      reason: 'error-response',
      responseCode: CoapCode.BAD_REQUEST,
    });
    expect(event.error.message).toContain('4.00');
    expect(h.client.operations()).toEqual(['DELETE /0', 'DELETE /1', 'PUT /0/1', 'PUT /1/0']);
    expect(h.finished).toEqual([]);
    expect(h.server.sessions()).toEqual([]);
  });

  it('reports a refused Bootstrap-Finish (4.06) as a failed finish step', async () => {
    const h = await setup(
      { 'dev-1': pskConfig() },
      { failWith: (r) => (r.path === '/bs' ? CoapCode.NOT_ACCEPTABLE : undefined) },
    );
    const failed = once(h.server, 'bootstrap-failed');
    await h.client.requestBootstrap(h.serverSocket.local);
    expect((await failed)[0]).toMatchObject({
      step: 'finish',
      path: '/bs',
      responseCode: CoapCode.NOT_ACCEPTABLE,
    });
  });

  it('fails a session that outlives sessionTimeout, abandoning the request in flight', async () => {
    const clock = createFakeClock();
    const h = await setup(
      { 'dev-1': pskConfig() },
      { hang: (r) => r.path === '/0/1' },
      { clock, sessionTimeout: 30_000 },
    );
    const failed = once(h.server, 'bootstrap-failed');
    await h.client.requestBootstrap(h.serverSocket.local);
    while (!h.client.requests.some((r) => r.path === '/0/1'))
      await new Promise((resolve) => setImmediate(resolve));
    expect(h.server.sessions()).toHaveLength(1);
    clock.advance(29_999);
    expect(h.failed).toEqual([]);
    clock.advance(1);
    expect((await failed)[0]).toMatchObject({ step: 'write', path: '/0/1', reason: 'timeout' });
    expect(h.server.sessions()).toEqual([]);
  });

  it('forgets a client that vanishes mid-session', async () => {
    const h = await setup(
      { 'dev-1': pskConfig() },
      {},
      { transmission: { ackTimeout: 20, ackRandomFactor: 1, maxRetransmit: 1 } },
    );
    const failed = once(h.server, 'bootstrap-failed');
    h.clientSocket.drop = (data) => data.length > 0 && h.client.requests.length >= 2;
    await h.client.requestBootstrap(h.serverSocket.local);
    const [event] = (await failed) as [BootstrapFailedEvent];
    expect(event).toMatchObject({ step: 'delete', path: '/1', reason: 'unreachable' });
    expect(h.server.sessions()).toEqual([]);
    expect(h.client.requests.length).toBe(2);
  });

  it('cancels the running session of an endpoint that asks again, then serves the new one', async () => {
    let hang = true;
    const h = await setup({ 'dev-1': pskConfig() }, { hang: (r) => hang && r.path === '/0/1' });
    const failed = once(h.server, 'bootstrap-failed');
    await h.client.requestBootstrap(h.serverSocket.local);
    while (!h.client.requests.some((r) => r.path === '/0/1'))
      await new Promise((resolve) => setImmediate(resolve));
    hang = false;
    const finish = once(h.server, 'bootstrap-finish');
    await h.client.requestBootstrap(h.serverSocket.local);
    expect((await failed)[0]).toMatchObject({ step: 'write', path: '/0/1', reason: 'cancelled' });
    await finish;
    expect(h.server.sessions()).toEqual([]);
  });

  it('puts the LwM2M server PSK into the security store, and answers 5.00 when the store refuses it', async () => {
    const securityStore = createMemorySecurityStore([
      { endpoint: 'someone-else', mode: 'psk', identity: 'taken', key: KEY },
    ]);
    const taken = pskConfig({
      security: [
        { instanceId: 1, uri: 'coaps://127.0.0.1:5684', ssid: 101, mode: 'psk', identity: 'taken', key: KEY },
      ],
    });
    const h = await setup({ 'dev-1': pskConfig(), 'dev-2': taken }, {}, { securityStore });
    const finish = nextFinish(h.server);
    await h.client.requestBootstrap(h.serverSocket.local);
    await finish;
    expect(await securityStore.getByEndpoint('dev-1')).toEqual({
      endpoint: 'dev-1',
      mode: 'psk',
      identity: 'dev-1-id',
      key: KEY,
    });

    const response = await h.client.requestBootstrap(h.serverSocket.local, { query: ['ep=dev-2'] });
    expect(response.code).toBe(CoapCode.INTERNAL_SERVER_ERROR);
    expect(h.refused).toMatchObject([{ endpoint: 'dev-2', reason: 'store-error' }]);
  });

  it('putConfig stores a config and provisions its server credentials at once', async () => {
    const securityStore = createMemorySecurityStore();
    const configStore = createMemoryBootstrapConfigStore();
    const h = await setup({}, {}, { securityStore, configStore });
    await h.server.putConfig('dev-9', pskConfig());
    expect(await configStore.get('dev-9')).toBeDefined();
    expect(await securityStore.getByPskIdentity('dev-1-id')).toMatchObject({ endpoint: 'dev-9' });
    await h.server.putConfig(
      'dev-*',
      pskConfig({ security: [{ instanceId: 1, uri: 'coap://h', ssid: 101, mode: 'nosec' }] }),
    );
    expect(await securityStore.getByEndpoint('dev-*')).toBeUndefined();
    await expect(
      h.server.putConfig('bad', { security: [], servers: [{ ssid: 1, lifetime: 0 }] }),
    ).rejects.toMatchObject({ code: 'ERR_BOOTSTRAP_CONFIG' });
  });

  describe('checks the identity of the request against the bootstrap account', () => {
    const withBootstrapPsk = pskConfig({
      security: [
        {
          instanceId: 0,
          uri: 'coaps://127.0.0.1:5784',
          bootstrap: true,
          mode: 'psk',
          identity: 'bs-dev-1',
          key: KEY,
        },
        {
          instanceId: 1,
          uri: 'coaps://127.0.0.1:5684',
          ssid: 101,
          mode: 'psk',
          identity: 'dev-1-id',
          key: KEY,
        },
      ],
    });

    it.each([
      ['NoSec', undefined, CoapCode.FORBIDDEN],
      ['another PSK identity', { kind: 'psk', identity: 'bs-dev-2' } as const, CoapCode.FORBIDDEN],
      ['its PSK identity', { kind: 'psk', identity: 'bs-dev-1' } as const, CoapCode.CHANGED],
    ])('answers a request over %s', async (_name, identity, code) => {
      const h = await setup({ 'dev-1': withBootstrapPsk, 'dev-2': pskConfig() });
      h.clientSocket.identity = identity;
      expect((await h.client.requestBootstrap(h.serverSocket.local)).code).toBe(code);
      if (code === CoapCode.FORBIDDEN) expect(h.refused).toMatchObject([{ reason: 'unauthorized' }]);
    });

    it('refuses DTLS credentials used for an endpoint that has none', async () => {
      const h = await setup({ 'dev-1': pskConfig() });
      h.clientSocket.identity = { kind: 'psk', identity: 'bs-dev-1' };
      expect((await h.client.requestBootstrap(h.serverSocket.local)).code).toBe(CoapCode.FORBIDDEN);
    });
  });

  it('close() fails the running sessions, is idempotent, and listen() afterwards rejects', async () => {
    const h = await setup({ 'dev-1': pskConfig() }, { hang: (r) => r.path === '/0' });
    await h.client.requestBootstrap(h.serverSocket.local);
    while (h.client.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([h.server.close(), h.server.close()]);
    expect(h.failed).toMatchObject([{ step: 'delete', path: '/0', reason: 'closed' }]);
    expect(h.serverSocket.closed).toBe(true);
    await expect(h.server.listen()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('bootstrap server on a CoAP endpoint it is given', () => {
  it('serves the endpoint, and close() detaches without closing it', async () => {
    const [serverSocket, clientSocket] = createMemorySocketPair();
    const coap = createCoapEndpoint({ socket: serverSocket });
    const server = createBootstrapServer({
      endpoints: [coap],
      configStore: createMemoryBootstrapConfigStore({ 'dev-1': pskConfig() }),
    });
    await server.listen();
    await server.listen();
    const client = new FakeBootstrapClient({ socket: clientSocket, endpoint: 'dev-1' });
    try {
      const finish = nextFinish(server);
      await client.requestBootstrap(serverSocket.local);
      await finish;
      await server.close();
      expect(serverSocket.closed).toBe(false);
      expect((await client.requestBootstrap(serverSocket.local)).code).toBe(CoapCode.NOT_FOUND);
    } finally {
      await client.close();
      await coap.close();
    }
  });

  it('close() does not wait for a session start its clock has not fired', async () => {
    const [serverSocket, clientSocket] = createMemorySocketPair();
    const stuck: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined };
    const server = createBootstrapServer({
      sockets: [serverSocket],
      clock: stuck,
      configStore: createMemoryBootstrapConfigStore({ 'dev-1': pskConfig() }),
    });
    await server.listen();
    const client = new FakeBootstrapClient({ socket: clientSocket, endpoint: 'dev-1' });
    const failed: BootstrapFailedEvent[] = [];
    server.on('bootstrap-failed', (e) => failed.push(e));
    await client.requestBootstrap(serverSocket.local);
    expect(server.sessions()).toHaveLength(1);
    await server.close();
    expect(failed).toMatchObject([{ reason: 'closed' }]);
    expect(client.requests).toEqual([]);
    await client.close();
  });
});

describe('bootstrap server over UDP', () => {
  it('runs concurrent sessions of several clients, each from its own config', async () => {
    const configStore = createMemoryBootstrapConfigStore({
      'dev-*': pskConfig({ servers: [{ instanceId: 0, ssid: 101, lifetime: 100 }] }),
      'dev-2': pskConfig({ servers: [{ instanceId: 0, ssid: 101, lifetime: 200 }] }),
    });
    const socket = await createUdpSocket({ address: '127.0.0.1', port: 0 });
    const server = createBootstrapServer({ sockets: [socket], configStore });
    await server.listen();
    const clients = await Promise.all(
      ['dev-1', 'dev-2', 'dev-3'].map(
        async (endpoint) =>
          new FakeBootstrapClient({
            socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
            endpoint,
          }),
      ),
    );
    try {
      const finished: string[] = [];
      server.on('bootstrap-finish', (e) => finished.push(e.endpoint));
      const responses = await Promise.all(clients.map((c) => c.requestBootstrap(socket.address())));
      expect(responses.map((r) => r.code)).toEqual([CoapCode.CHANGED, CoapCode.CHANGED, CoapCode.CHANGED]);
      expect(server.sessions().length).toBeGreaterThan(0);
      await Promise.all(clients.map((c) => c.finished));
      while (finished.length < 3) await new Promise((resolve) => setImmediate(resolve));
      expect(finished.sort()).toEqual(['dev-1', 'dev-2', 'dev-3']);
      expect(clients.map((c) => value(c.instance(1, 0), 1))).toEqual([100, 200, 100]);
      expect(server.sessions()).toEqual([]);
    } finally {
      await server.close();
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
