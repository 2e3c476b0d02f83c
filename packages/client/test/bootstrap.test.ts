import { once } from 'node:events';
import {
  ContentFormat,
  createCoreObjectRegistry,
  objectInstance,
  objectNode,
  singleResource,
} from '@lwm2m/core';
import { createCodec, parseDiscoverLinks } from '@lwm2m/codecs';
import { CoapCode } from '@lwm2m/transport-coap';
import { createClient } from '../src/index.js';
import type { ClientOptions, Lwm2mClient } from '../src/index.js';
import { FakeClock, settle } from './fake-clock.js';
import { memoryNetwork, text } from './fake-server.js';
import type { FakeServer, ReceivedRequest } from './fake-server.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });
const isBootstrapRequest = (r: ReceivedRequest): boolean => r.method === 'POST' && r.path === '/bs';
const isRegister = (r: ReceivedRequest): boolean => r.method === 'POST' && r.path === '/rd';

function securityFor(uri: string, ssid: number) {
  return objectInstance(1, [
    singleResource(0, 'string', uri),
    singleResource(1, 'boolean', false),
    singleResource(2, 'integer', 3),
    singleResource(3, 'opaque', new Uint8Array(0)),
    singleResource(4, 'opaque', new Uint8Array(0)),
    singleResource(5, 'opaque', new Uint8Array(0)),
    singleResource(10, 'integer', ssid),
  ]);
}

function serverFor(ssid: number, lifetime: number) {
  return objectInstance(0, [
    singleResource(0, 'integer', ssid),
    singleResource(1, 'integer', lifetime),
    singleResource(6, 'boolean', true),
    singleResource(7, 'string', 'U'),
  ]);
}

describe('client-initiated bootstrap', () => {
  let network: ReturnType<typeof memoryNetwork>;
  let bs: FakeServer;
  let dm: FakeServer;
  let clock: FakeClock;
  let client: Lwm2mClient;

  function makeClient(options: Partial<ClientOptions> = {}): Lwm2mClient {
    network = memoryNetwork();
    bs = network.addServer('10.0.0.9');
    dm = network.addServer('10.0.0.1');
    clock = new FakeClock();
    client = createClient({
      endpoint: 'bs-test',
      transport: network.transport,
      clock,
      bootstrap: { uri: 'coap://10.0.0.9:5683' },
      retry: { attempts: 2, initialDelay: 1000, maxDelay: 5000, sequenceDelay: 60_000 },
      ...options,
    });
    return client;
  }

  afterEach(async () => {
    await client.close();
    await network.close();
  });

  async function provision(lifetime = 60): Promise<void> {
    const payload0 = codec.encode(ContentFormat.SENML_CBOR, securityFor('coap://10.0.0.1:5683', 5), [0, 1]);
    expect(
      (
        await bs.request({
          method: 'PUT',
          path: '/0/1',
          contentFormat: ContentFormat.SENML_CBOR,
          payload: payload0,
        })
      ).code,
    ).toBe(CoapCode.CHANGED);
    const payload1 = codec.encode(ContentFormat.TLV, objectNode(1, [serverFor(5, lifetime)]), [1]);
    expect(
      (await bs.request({ method: 'PUT', path: '/1', contentFormat: ContentFormat.TLV, payload: payload1 }))
        .code,
    ).toBe(CoapCode.CHANGED);
  }

  it('asks for bootstrap, takes the configuration and registers with it', async () => {
    makeClient();
    const finished = once(client, 'bootstrap-finished');
    await client.start();
    const request = await bs.next(isBootstrapRequest, true);
    expect(request.query).toEqual(['ep=bs-test', 'pct=112']);

    const discover = await bs.request({ method: 'GET', path: '/', accept: ContentFormat.LINK });
    expect(parseDiscoverLinks(text(discover))).toEqual([
      { path: [], attributes: {}, lwm2m: '1.1' },
      { path: [0], attributes: {}, version: '1.1' },
      { path: [0, 0], attributes: {}, uri: 'coap://10.0.0.9:5683' },
      { path: [1], attributes: {}, version: '1.1' },
      { path: [2], attributes: {}, version: '1.1' },
      { path: [3], attributes: {}, version: '1.1' },
      { path: [3, 0], attributes: {} },
    ]);
    expect((await bs.request({ method: 'DELETE', path: '/' })).code).toBe(CoapCode.DELETED);
    await provision();
    const read = await bs.request({ method: 'GET', path: '/1/0/1', accept: ContentFormat.TEXT });
    expect(text(read)).toBe('60');
    expect((await bs.request({ method: 'GET', path: '/3/0' })).code).toBe(CoapCode.METHOD_NOT_ALLOWED);
    expect((await bs.request({ method: 'DELETE', path: '/0/0' })).code).toBe(CoapCode.BAD_REQUEST);
    const afterDiscover = await bs.request({ method: 'GET', path: '/', accept: ContentFormat.LINK });
    expect(
      parseDiscoverLinks(text(afterDiscover)).filter((l) => l.path.length === 2 && l.path[0] !== 3),
    ).toEqual([
      { path: [0, 0], attributes: {}, uri: 'coap://10.0.0.9:5683' },
      { path: [0, 1], attributes: {}, ssid: 5, uri: 'coap://10.0.0.1:5683' },
      { path: [1, 0], attributes: {}, ssid: 5 },
    ]);

    const registered = once(client, 'registered');
    expect((await bs.request({ method: 'POST', path: '/bs' })).code).toBe(CoapCode.CHANGED);
    await clock.advance(0);
    await finished;
    const [info] = await registered;
    expect(info).toEqual({ ssid: 5, uri: 'coap://10.0.0.1:5683', location: '/rd/r1' });
    const register = dm.requests.find(isRegister)!;
    expect(register.query).toEqual(['ep=bs-test', 'lt=60', 'lwm2m=1.1', 'b=U']);
  });

  it('answers Bootstrap-Finish with 4.06 while no server account is usable', async () => {
    makeClient();
    await client.start();
    await bs.next(isBootstrapRequest, true);
    expect((await bs.request({ method: 'POST', path: '/bs' })).code).toBe(CoapCode.NOT_ACCEPTABLE);
  });

  it('waits the Client Hold Off Time before asking', async () => {
    makeClient({ bootstrap: { uri: 'coap://10.0.0.9:5683', holdOffTime: 5 } });
    await client.start();
    await clock.advance(4999);
    expect(bs.requests).toHaveLength(0);
    await clock.advance(1);
    await settle();
    expect(bs.requests.filter(isBootstrapRequest)).toHaveLength(1);
  });

  it('bootstraps again when every server refuses the registration', async () => {
    makeClient();
    await client.start();
    await bs.next(isBootstrapRequest, true);
    await provision();
    dm.answer = (r) => (isRegister(r) ? { code: CoapCode.FORBIDDEN } : undefined);
    await bs.request({ method: 'POST', path: '/bs' });
    await clock.advance(0);
    await settle();
    expect(dm.requests.filter(isRegister)).toHaveLength(1);
    const again = bs.next(isBootstrapRequest);
    await clock.advance(1000);
    await settle();
    expect(dm.requests.filter(isRegister)).toHaveLength(2);
    await again;
    expect(bs.requests.filter(isBootstrapRequest)).toHaveLength(2);
  });

  it('retries the bootstrap request with back-off when there is no Finish', async () => {
    makeClient({ bootstrapTimeout: 10_000 });
    const failed: string[] = [];
    client.on('bootstrap-failed', ({ error }) => failed.push(error.message));
    await client.start();
    await settle();
    await clock.advance(10_000);
    expect(failed).toEqual(['no Bootstrap-Finish within 10000 ms']);
    await clock.advance(1000);
    await settle();
    expect(bs.requests.filter(isBootstrapRequest)).toHaveLength(2);
  });
});
