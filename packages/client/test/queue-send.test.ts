import { once } from 'node:events';
import { ContentFormat, createCoreObjectRegistry } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode } from '@lwm2m/transport-coap';
import {
  ClientConfigError,
  createClient,
  Lwm2mRequestError,
  TemperatureSensor,
  temperatureObject,
} from '../src/index.js';
import type { ClientOptions, Lwm2mClient } from '../src/index.js';
import { FakeClock, settle } from './fake-clock.js';
import { MEMORY_SERVER_URI, memoryServer } from './fake-server.js';
import type { FakeServer, ReceivedRequest } from './fake-server.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });
const isSend = (r: ReceivedRequest): boolean => r.method === 'POST' && r.path === '/dp';
const isUpdate = (r: ReceivedRequest): boolean => r.method === 'POST' && r.path.startsWith('/rd/');

describe('Send and queue mode', () => {
  let client: Lwm2mClient;
  let server: FakeServer;
  let clock: FakeClock;
  let sensor: TemperatureSensor;

  async function start(options: Partial<ClientOptions> = {}): Promise<void> {
    const memory = memoryServer();
    server = memory.server;
    clock = new FakeClock();
    sensor = new TemperatureSensor({ initial: 12 });
    client = createClient({
      endpoint: 'send-test',
      transport: memory.transport,
      clock,
      servers: [{ uri: MEMORY_SERVER_URI, ssid: 3, lifetime: 300 }],
      objects: [temperatureObject([sensor])],
      device: { manufacturer: 'Acme' },
      ...options,
    });
    const registered = once(client, 'registered');
    await client.start();
    await registered;
  }

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('sends values to /dp as SenML CBOR', async () => {
    await start();
    await client.send(['/3303/0/5700', [3, 0, 0]]);
    const request = server.requests.find(isSend)!;
    expect(request.contentFormat).toBe(ContentFormat.SENML_CBOR);
    const nodes = codec.decodeComposite(ContentFormat.SENML_CBOR, request.bytes);
    expect(nodes.get('/3303/0/5700')).toMatchObject({ value: 12 });
    expect(nodes.get('/3/0/0')).toMatchObject({ value: 'Acme' });
  });

  it('rejects Send when the server refuses, when Mute Send is set, and on LwM2M 1.0', async () => {
    await start();
    server.answer = (r) => (isSend(r) ? { code: CoapCode.BAD_REQUEST } : undefined);
    await expect(client.send(['/3303/0/5700'])).rejects.toMatchObject({
      code: 'ERR_REQUEST',
      coapCode: CoapCode.BAD_REQUEST,
    });
    await server.request({ method: 'PUT', path: '/1/0/23', contentFormat: 0, payload: '1' });
    await expect(client.send(['/3303/0/5700'])).rejects.toBeInstanceOf(Lwm2mRequestError);
    await client.close();
    await server.close();
    await start({ version: '1.0' });
    await expect(client.send(['/3303/0/5700'])).rejects.toBeInstanceOf(ClientConfigError);
  });

  it('queue mode: sleeps after the awake window and wakes to notify and to update', async () => {
    await start({ queueMode: { awakeTime: 5000 } });
    const events: string[] = [];
    const t0 = clock.now();
    client.on('sleep', () => events.push(`sleep@${clock.now() - t0}`));
    client.on('wake', () => events.push(`wake@${clock.now() - t0}`));
    const observation = await server.endpoint.observe(
      { peer: server.peer!, method: 'GET', path: '/3303/0/5700' },
      { timeout: 5000 },
    );
    const values: string[] = [];
    void (async () => {
      for await (const n of observation) values.push(Buffer.from(n.payload).toString());
    })();
    await settle();
    await clock.advance(4999);
    expect(client.sessions()[0]?.asleep).toBe(false);
    await clock.advance(1);
    expect(client.sessions()[0]?.asleep).toBe(true);
    await clock.advance(10_000);
    sensor.setValue(13);
    await settle();
    expect(values).toEqual(['12', '13']);
    expect(client.sessions()[0]?.asleep).toBe(false);
    await clock.advance(5000);
    expect(client.sessions()[0]?.asleep).toBe(true);
    await clock.advance(240_000 - 20_000);
    expect(server.requests.filter(isUpdate)).toHaveLength(1);
    expect(events).toEqual(['sleep@5000', 'wake@15000', 'sleep@20000', 'wake@240000']);
  });
});
