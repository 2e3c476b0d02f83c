/**
 * LwM2M 1.0 and 1.2 clients against our server: each is talked to in its own formats (TLV for
 * 1.0, LwM2M CBOR for 1.2) and its own registration parameters (1.0 queue mode is `b=UQ`).
 */
import { ContentFormat, objectInstance, singleResource } from '@lwm2m/core';
import { createClient, TemperatureSensor } from '@lwm2m/client';
import type { Lwm2mClient } from '@lwm2m/client';
import type { Lwm2mVersion, Registration } from '@lwm2m/server';
import {
  FAST_COAP,
  loopbackTransport,
  nextValue,
  observedValue,
  resourceOf,
  startServer,
  valueOf,
  waitFor,
} from './loopback.js';
import type { TestServer } from './loopback.js';

interface Device {
  readonly client: Lwm2mClient;
  readonly sensor: TemperatureSensor;
  readonly registration: Registration;
}

async function startDevice(
  t: TestServer,
  endpoint: string,
  version: Lwm2mVersion,
  queueMode: boolean,
): Promise<Device> {
  const sensor = new TemperatureSensor({ initial: 20 });
  const client = createClient({
    endpoint,
    version,
    transport: loopbackTransport(),
    servers: [{ uri: t.coapUri, ssid: 1, lifetime: 60 }],
    device: { manufacturer: `Acme ${version}`, model: 'V' },
    objects: [
      { id: 3303, instances: new Map([[0, sensor]]), create: () => new TemperatureSensor({ initial: 0 }) },
    ],
    transmission: FAST_COAP,
    requestTimeout: 2_000,
    // Awake for the whole test: this file is about formats, queue-mode waits are elsewhere.
    ...(queueMode ? { queueMode: { awakeTime: 20_000 } } : {}),
  });
  const registered = waitFor<[Registration]>(t.server, 'registered', (r) => r.endpoint === endpoint);
  // The server emits `registered` before its 2.01 is out: wait for the client to have it too.
  const clientRegistered = waitFor(client, 'registered');
  await client.start();
  const [registration] = await registered;
  await clientRegistered;
  return { client, sensor, registration };
}

describe('LwM2M 1.0 client (TLV, b=UQ)', () => {
  let t: TestServer;
  let device: Device;
  const endpoint = 'e2e-v10';

  beforeAll(async () => {
    t = await startServer({ queueMode: { awakeTime: 20_000 } });
    device = await startDevice(t, endpoint, '1.0', true);
  });

  afterAll(async () => {
    await device?.client.close();
    await t?.close();
  });

  test('registers as 1.0 in queue mode through the binding', () => {
    expect(device.registration).toMatchObject({ version: '1.0', binding: 'U', queueMode: true });
    expect(device.registration.supportedFormats).toBeUndefined();
    expect(t.server.isAwake(endpoint)).toBe(true);
  });

  test('reads instances in TLV by default and single values as text', async () => {
    const node = await t.server.read(endpoint, '/3/0');
    expect(resourceOf(node, 0)).toBe('Acme 1.0');
    expect(resourceOf(node, 1)).toBe('V');
    expect(valueOf(await t.server.read(endpoint, '/3303/0/5700'))).toBe(20);
    const tlv = await t.server.read(endpoint, '/3303/0', { format: ContentFormat.TLV });
    expect(resourceOf(tlv, 5700)).toBe(20);
  });

  test('writes in TLV (instance) and text (resource)', async () => {
    await t.server.write(endpoint, '/3/0', objectInstance(0, [singleResource(14, 'string', '+01:00')]), {
      mode: 'update',
    });
    expect(valueOf(await t.server.read(endpoint, '/3/0/14'))).toBe('+01:00');
    await t.server.write(endpoint, '/3/0/15', 'Europe/Paris');
    expect(valueOf(await t.server.read(endpoint, '/3/0/15'))).toBe('Europe/Paris');
  });

  test('observes an instance in TLV, with 1.0 attributes', async () => {
    await t.server.writeAttributes(endpoint, '/3303/0/5700', { set: { st: 1 } });
    const observation = await t.server.observe(endpoint, '/3303/0');
    try {
      const first = await nextValue(observation);
      expect(first.format).toBe(ContentFormat.TLV);
      if (first.composite) throw new Error('expected a single-path value');
      expect(resourceOf(first.node, 5700)).toBe(20);
      device.sensor.setValue(22);
      const next = await nextValue(observation);
      expect(next.format).toBe(ContentFormat.TLV);
      if (next.composite) throw new Error('expected a single-path value');
      expect(resourceOf(next.node, 5700)).toBe(22);
    } finally {
      await observation.cancel();
    }
  });

  test('creates (TLV) and deletes an instance', async () => {
    const created = await t.server.create(
      endpoint,
      '/3303',
      objectInstance(3, [singleResource(5750, 'string', 'cellar')]),
    );
    expect(created).toEqual([3303, 3]);
    expect(valueOf(await t.server.read(endpoint, '/3303/3/5750'))).toBe('cellar');
    await t.server.delete(endpoint, '/3303/3');
    await expect(t.server.read(endpoint, '/3303/3/5750')).rejects.toMatchObject({ codeText: '4.04' });
  });

  test('1.1 features are refused: epmin as an attribute, Send', async () => {
    await expect(
      t.server.writeAttributes(endpoint, '/3303/0/5700', { set: { epmin: 1 } }),
    ).rejects.toMatchObject({ codeText: '4.00' });
    await expect(device.client.send(['/3303/0/5700'])).rejects.toThrow(/1\.1/);
  });
});

describe('LwM2M 1.2 client (LwM2M CBOR)', () => {
  let t: TestServer;
  let device: Device;
  const endpoint = 'e2e-v12';

  beforeAll(async () => {
    t = await startServer();
    device = await startDevice(t, endpoint, '1.2', false);
  });

  afterAll(async () => {
    await device?.client.close();
    await t?.close();
  });

  test('registers as 1.2 and advertises LwM2M CBOR', () => {
    expect(device.registration).toMatchObject({ version: '1.2', queueMode: false });
    expect(device.registration.supportedFormats).toContain(ContentFormat.LWM2M_CBOR);
  });

  test('reads and writes in LwM2M CBOR', async () => {
    const node = await t.server.read(endpoint, '/3/0', { format: ContentFormat.LWM2M_CBOR });
    expect(resourceOf(node, 0)).toBe('Acme 1.2');
    await t.server.write(endpoint, '/3/0', objectInstance(0, [singleResource(14, 'string', '+09:00')]), {
      mode: 'update',
      format: ContentFormat.LWM2M_CBOR,
    });
    expect(valueOf(await t.server.read(endpoint, '/3/0/14', { format: ContentFormat.LWM2M_CBOR }))).toBe(
      '+09:00',
    );
    const composite = await t.server.readComposite(endpoint, ['/3/0/14', '/3303/0/5700'], {
      format: ContentFormat.LWM2M_CBOR,
    });
    expect(valueOf(composite.get('/3/0/14'))).toBe('+09:00');
    expect(valueOf(composite.get('/3303/0/5700'))).toBe(20);
  });

  test('observes in LwM2M CBOR with 1.2 attributes (con, hqmax)', async () => {
    await t.server.writeAttributes(endpoint, '/3303/0/5700', { set: { con: 1, hqmax: 3 } });
    const observation = await t.server.observe(endpoint, '/3303/0/5700', {
      format: ContentFormat.LWM2M_CBOR,
    });
    try {
      const first = await nextValue(observation);
      expect(first.format).toBe(ContentFormat.LWM2M_CBOR);
      expect(observedValue(first)).toBe(20);
      device.sensor.setValue(24.5);
      const next = await nextValue(observation);
      expect(next.format).toBe(ContentFormat.LWM2M_CBOR);
      expect(observedValue(next)).toBe(24.5);
    } finally {
      await observation.cancel();
    }
    const links = await t.server.discover(endpoint, '/3303/0/5700');
    expect(links[0]?.attributes).toMatchObject({ con: 1, hqmax: 3 });
  });

  test('Send in SenML CBOR reaches the server', async () => {
    const sent = waitFor<[{ data: readonly { nodes: ReadonlyMap<string, unknown> }[] }]>(t.server, 'send');
    await device.client.send(['/3303/0/5700']);
    const [event] = await sent;
    expect(event.data.some((g) => g.nodes.has('/3303/0/5700'))).toBe(true);
  });
});
