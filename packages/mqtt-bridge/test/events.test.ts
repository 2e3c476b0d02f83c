import { createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import { TemperatureSensor, temperatureObject } from '@lwm2m/client';
import type { Lwm2mServer } from '@lwm2m/server';
import type { MqttBridge } from '../src/index.js';
import {
  Caller,
  clearRetained,
  eventually,
  startBridge,
  startDevice,
  startServer,
  uniqueId,
  uniquePrefix,
} from './harness.js';
import type { TestDevice } from './harness.js';

/** Registration events, retained presence, sensor formats and observations that follow a device. */
describe('events, presence and observations over time', () => {
  let server: Lwm2mServer;
  let bridge: MqttBridge | undefined;
  let caller: Caller | undefined;
  const devices: TestDevice[] = [];
  const bridges: MqttBridge[] = [];
  const prefix = uniquePrefix();
  const retained: string[] = [];

  beforeEach(async () => {
    server = await startServer({ queueMode: { awakeTime: 400 }, expiryGrace: 0 });
  });

  afterEach(async () => {
    await caller?.close();
    caller = undefined;
    for (const b of bridges.splice(0)) await b.close();
    for (const d of devices.splice(0)) await d.client.close();
    await server.close();
  });

  afterAll(async () => {
    await clearRetained(prefix, retained);
  });

  async function device(ep: string, options: Parameters<typeof startDevice>[2] = {}): Promise<TestDevice> {
    retained.push(`${prefix}/${ep}/presence`);
    const d = await startDevice(server, ep, options);
    devices.push(d);
    return d;
  }

  async function start(
    options: Parameters<typeof startBridge>[2] = {},
    bridgePrefix = prefix,
  ): Promise<MqttBridge> {
    const b = startBridge(server, bridgePrefix, options);
    bridges.push(b);
    await b.start();
    return b;
  }

  const presenceOf =
    (c: Caller, ep: string, state: string) => (m: { topic: string; json: Record<string, unknown> }) =>
      m.topic === `${prefix}/${ep}/presence` && m.json['state'] === state;

  it('publishes presence for devices registered before start and sets stale retained presence offline', async () => {
    const ep = uniqueId('early');
    const ghost = uniqueId('ghost');
    retained.push(`${prefix}/${ghost}/presence`);
    await device(ep);
    const setup = await Caller.connect([]);
    await setup.publish(
      `${prefix}/${ghost}/presence`,
      { state: 'online', timestamp: 1 },
      { qos: 1, retain: true },
    );
    await setup.close();
    caller = await Caller.connect([`${prefix}/+/presence`, `${prefix}/bridge/status`]);
    bridge = await start();
    await caller.waitFor(presenceOf(caller, ep, 'online'));
    await caller.waitFor(presenceOf(caller, ghost, 'offline'));
    await caller.waitFor((m) => m.topic === `${prefix}/bridge/status` && m.text === 'online');
  });

  it('publishes registered, updated and deregistered events and keeps presence retained', async () => {
    caller = await Caller.connect([
      `${prefix}/+/registered`,
      `${prefix}/+/updated`,
      `${prefix}/+/deregistered`,
    ]);
    bridge = await start();
    const ep = uniqueId('life');
    const d = await device(ep);
    const registered = await caller.waitFor((m) => m.topic === `${prefix}/${ep}/registered`);
    const registration = await server.getRegistration(ep);
    expect(registered.json).toMatchObject({
      endpoint: ep,
      registrationId: registration?.id,
      location: `/rd/${registration?.id}`,
      lifetime: 300,
      version: '1.1',
      queueMode: false,
    });
    // A late subscriber gets the retained presence.
    const late = await Caller.connect([`${prefix}/${ep}/presence`]);
    const online = await late.waitFor(presenceOf(late, ep, 'online'));
    expect(online.packet.retain).toBe(true);
    await late.close();
    d.client.triggerUpdate(1);
    await caller.waitFor((m) => m.topic === `${prefix}/${ep}/updated` && m.json['endpoint'] === ep);
    await d.client.close();
    await caller.waitFor((m) => m.topic === `${prefix}/${ep}/deregistered`);
    const after = await Caller.connect([`${prefix}/${ep}/presence`]);
    const offline = await after.waitFor(presenceOf(after, ep, 'offline'));
    expect(offline.packet.retain).toBe(true);
    await after.close();
  });

  it('publishes expired when a registration runs out, with presence offline', async () => {
    caller = await Caller.connect([`${prefix}/+/expired`, `${prefix}/+/presence`]);
    bridge = await start();
    const ep = uniqueId('short');
    retained.push(`${prefix}/${ep}/presence`);
    const raw = createCoapEndpoint({ socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }) });
    await raw.request(
      {
        peer: server.address(),
        method: 'POST',
        path: ['rd'],
        query: [`ep=${ep}`, 'lwm2m=1.1', 'lt=1'],
        payload: '</3/0>',
        contentFormat: 40,
      },
      { timeout: 5000 },
    );
    await caller.waitFor(presenceOf(caller, ep, 'online'));
    const expired = await caller.waitFor((m) => m.topic === `${prefix}/${ep}/expired`, 4000);
    expect(expired.json).toMatchObject({ endpoint: ep });
    await caller.waitFor(presenceOf(caller, ep, 'offline'));
    await raw.close();
  });

  it('queue mode: presence goes sleeping, a request times out cleanly, and is answered once the device wakes', async () => {
    caller = await Caller.connect([`${prefix}/+/presence`, `${prefix}/responses/#`]);
    bridge = await start();
    const ep = uniqueId('sleepy');
    const d = await device(ep, { queueMode: { awakeTime: 300 } });
    await caller.waitFor(presenceOf(caller, ep, 'sleeping'), 5000);
    const slept = await caller.request(prefix, `${ep}/GET/3/0/0`, { timeout: 300 });
    expect(slept.json).toMatchObject({ code: '5.04' });
    expect(['ERR_CLIENT_SLEEPING', 'ERR_TIMEOUT']).toContain((slept.json['error'] as { code: string }).code);
    const waiting = caller.request(prefix, `${ep}/GET/3/0/0`, { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await d.client.send(['/3303/0/5700']);
    expect((await waiting).json).toMatchObject({ code: '2.05', value: 'Acme' });
    await caller.waitFor((m) => presenceOf(caller!, ep, 'online')(m) && m.json['timestamp'] !== undefined);
  });

  it('makes observations again when the device registers anew, without duplicates', async () => {
    caller = await Caller.connect([`${prefix}/responses/#`, `${prefix}/+/sensor/#`]);
    bridge = await start();
    const ep = uniqueId('again');
    const first = await device(ep);
    expect((await caller.request(prefix, `${ep}/OBSERVE/3303/0/5700`)).json).toMatchObject({
      code: '2.05',
      value: 21.5,
    });
    await first.client.close();
    devices.splice(devices.indexOf(first), 1);
    const sensor = new TemperatureSensor({ initial: 5 });
    await device(ep, { objects: [temperatureObject([sensor])] });
    await eventually(() => expect(server.observations(ep)).toHaveLength(1));
    sensor.setValue(6.5);
    await caller.waitFor((m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5700` && m.json['value'] === 6.5);
    expect(bridge.observationCount(ep)).toBe(1);
    expect(server.observations(ep)).toHaveLength(1);
  });

  it('publishes sensor values raw or as SenML JSON when configured', async () => {
    const rawPrefix = uniquePrefix();
    const senmlPrefix = uniquePrefix();
    caller = await Caller.connect([
      `${prefix}/responses/#`,
      `${rawPrefix}/+/sensor/#`,
      `${senmlPrefix}/+/sensor/#`,
    ]);
    bridge = await start();
    await start({ sensorFormat: 'raw' }, rawPrefix);
    await start({ sensorFormat: 'senml' }, senmlPrefix);
    const ep = uniqueId('fmt');
    const sensor = new TemperatureSensor({ initial: 1 });
    await device(ep, { objects: [temperatureObject([sensor])] });
    retained.push(`${rawPrefix}/${ep}/presence`, `${senmlPrefix}/${ep}/presence`);
    await caller.request(prefix, `${ep}/OBSERVE/3303/0/5700`);
    sensor.setValue(2.25);
    const raw = await caller.waitFor((m) => m.topic === `${rawPrefix}/${ep}/sensor/3303/0/5700`);
    expect(raw.text).toBe('2.25');
    const senml = await caller.waitFor((m) => m.topic === `${senmlPrefix}/${ep}/sensor/3303/0/5700`);
    const records = JSON.parse(senml.text) as { bn?: string; n?: string; v?: number; bt?: number }[];
    expect(records[0]).toMatchObject({ v: 2.25 });
    expect(`${records[0]?.bn ?? ''}${records[0]?.n ?? ''}`).toBe('/3303/0/5700');
    expect(Math.abs((records[0]?.bt ?? 0) * 1000 - Date.now())).toBeLessThan(10_000);
    await clearRetained(rawPrefix, []);
    await clearRetained(senmlPrefix, []);
  });
});
