/**
 * Our client (LwM2M 1.1) against our server over plain CoAP on loopback: registration, every
 * device management operation, observation with attributes, Send, and the registration life
 * cycle as the server sees it.
 */
import { ContentFormat, objectInstance, singleResource } from '@lwm2m/core';
import type { Lwm2mNode, ResourceValue } from '@lwm2m/core';
import { AccessRight, createClient, TemperatureSensor } from '@lwm2m/client';
import type { DmOperation, Lwm2mClient, NotifyInfo } from '@lwm2m/client';
import { RequestFailedError } from '@lwm2m/server';
import type { NotificationEvent, Registration, SendEvent } from '@lwm2m/server';
import {
  FAST_COAP,
  delay,
  happens,
  loopbackTransport,
  nextValue,
  observedValue,
  resourceOf,
  startServer,
  valueOf,
  waitFor,
} from './loopback.js';
import type { TestServer } from './loopback.js';

const DEVICE = {
  manufacturer: 'Acme',
  model: 'E2E-1',
  serialNumber: 'SN-0001',
  firmwareVersion: '1.0.0',
  utcOffset: '+00:00',
  timezone: 'UTC',
  powerSources: [1, 5],
};

interface Device {
  readonly client: Lwm2mClient;
  readonly sensors: TemperatureSensor[];
  readonly registration: Registration;
}

/** A 1.1 client with two temperature sensors (3303/0, 3303/1); servers may create more. */
async function startDevice(t: TestServer, endpoint: string, lifetime = 60): Promise<Device> {
  const sensors = [new TemperatureSensor({ initial: 20 }), new TemperatureSensor({ initial: 18.5 })];
  const client = createClient({
    endpoint,
    transport: loopbackTransport(),
    servers: [{ uri: t.coapUri, ssid: 1, lifetime }],
    device: DEVICE,
    objects: [
      {
        id: 3303,
        instances: new Map(sensors.map((s, i) => [i, s])),
        create: () => new TemperatureSensor({ initial: 0 }),
      },
    ],
    transmission: FAST_COAP,
    requestTimeout: 2_000,
  });
  const registered = waitFor<[Registration]>(t.server, 'registered', (r) => r.endpoint === endpoint);
  // The server emits `registered` before its 2.01 is out: wait for the client to have it too.
  const clientRegistered = waitFor(client, 'registered');
  await client.start();
  const [registration] = await registered;
  await clientRegistered;
  return { client, sensors, registration };
}

/** A node as plain sorted data, to compare what different content formats decoded to. */
function plain(node: Lwm2mNode, skip: readonly number[] = []): unknown {
  switch (node.kind) {
    case 'object':
      return [...node.instances.values()].sort((a, b) => a.id - b.id).map((i) => plain(i, skip));
    case 'objectInstance':
      return {
        id: node.id,
        resources: [...node.resources.values()]
          .filter((r) => !skip.includes(r.id))
          .sort((a, b) => a.id - b.id)
          .map((r) => plain(r, skip)),
      };
    case 'multipleResource':
      return { id: node.id, instances: [...node.instances].sort((a, b) => a[0] - b[0]) };
    case 'resource':
    case 'resourceInstance':
      return { id: node.id, value: node.value };
  }
}

describe('LwM2M 1.1 client and server over CoAP', () => {
  let t: TestServer;
  let device: Device;
  const endpoint = 'e2e-coap-1';

  beforeAll(async () => {
    t = await startServer();
    device = await startDevice(t, endpoint);
  });

  afterAll(async () => {
    await device?.client.close();
    await t?.close();
  });

  test('the registration carries the endpoint, version, binding, formats and objects', async () => {
    const r = device.registration;
    expect(r).toMatchObject({
      endpoint,
      version: '1.1',
      binding: 'U',
      queueMode: false,
      lifetime: 60,
      transport: 'coap',
      address: '127.0.0.1',
    });
    expect(r.supportedFormats).toEqual(
      expect.arrayContaining([ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON]),
    );
    expect(r.objectLinks).toContain('</3/0>');
    expect(r.objectLinks).toContain('</3303/0>');
    expect(r.objectLinks).toContain('</3303/1>');
    // TS Core 1.1 §6.2.1: the Security object is never announced.
    expect(r.objectLinks).not.toMatch(/<\/0[/>]/);
    // Requests go to the port the client registered from (its one socket).
    expect(r.port).toBe(device.client.localAddress(1)?.port);
    expect(await t.server.getRegistration(endpoint)).toMatchObject({ id: r.id });
  });

  test('read /3/0 decodes the Device object with its typed values', async () => {
    const node = await t.server.read(endpoint, '/3/0');
    expect(node.kind).toBe('objectInstance');
    expect(resourceOf(node, 0)).toBe('Acme');
    expect(resourceOf(node, 1)).toBe('E2E-1');
    expect(resourceOf(node, 2)).toBe('SN-0001');
    expect(resourceOf(node, 3)).toBe('1.0.0');
    expect(resourceOf(node, 16)).toBe('U');
    const now = resourceOf(node, 13);
    expect(now).toBeInstanceOf(Date);
    expect(Math.abs((now as Date).getTime() - Date.now())).toBeLessThan(5_000);
  });

  test('read of single resources: string, float, and a resource the instance lacks', async () => {
    expect(valueOf(await t.server.read(endpoint, '/3/0/0'))).toBe('Acme');
    expect(valueOf(await t.server.read(endpoint, '/3303/1/5700'))).toBe(18.5);
    expect(valueOf(await t.server.read(endpoint, '/3303/0/5701'))).toBe('Cel');
    await expect(t.server.read(endpoint, '/3303/0/5750')).rejects.toMatchObject({ codeText: '4.04' });
    await expect(t.server.read(endpoint, '/3/0/4')).rejects.toMatchObject({ codeText: '4.05' });
  });

  test('write: replace a resource, partially update an instance, replace an instance', async () => {
    const writes: DmOperation[] = [];
    device.client.on('write', (op) => writes.push(op));
    await t.server.write(endpoint, '/3/0/14', '+02:00');
    expect(valueOf(await t.server.read(endpoint, '/3/0/14'))).toBe('+02:00');

    await t.server.write(
      endpoint,
      '/3/0',
      objectInstance(0, [
        singleResource(14, 'string', '-03:00'),
        singleResource(15, 'string', 'America/Sao_Paulo'),
      ]),
      { mode: 'update' },
    );
    const after = await t.server.read(endpoint, '/3/0');
    expect(resourceOf(after, 14)).toBe('-03:00');
    expect(resourceOf(after, 15)).toBe('America/Sao_Paulo');
    expect(resourceOf(after, 0)).toBe('Acme'); // untouched by a partial update

    await t.server.write(endpoint, '/3303/1', objectInstance(1, [singleResource(5750, 'string', 'garage')]));
    expect(valueOf(await t.server.read(endpoint, '/3303/1/5750'))).toBe('garage');

    // A read-only resource is refused and changes nothing.
    await expect(t.server.write(endpoint, '/3/0/0', 'Evil')).rejects.toMatchObject({ codeText: '4.05' });
    expect(valueOf(await t.server.read(endpoint, '/3/0/0'))).toBe('Acme');
    expect(writes.map((w) => w.paths)).toEqual([[[3, 0, 14]], [[3, 0]], [[3303, 1]]]);
  });

  test('observe with gt: only crossings of the threshold are notified', async () => {
    const sensor = device.sensors[0] as TemperatureSensor;
    sensor.setValue(20);
    await t.server.writeAttributes(endpoint, '/3303/0/5700', { set: { gt: 30 } });
    const observation = await t.server.observe(endpoint, '/3303/0/5700');
    try {
      expect(observedValue(await nextValue(observation))).toBe(20);

      const quiet = happens(observation, 'notification', 400);
      sensor.setValue(25); // below the threshold, no crossing
      expect(await quiet).toBe(false);

      sensor.setValue(31); // crosses upwards
      expect(observedValue(await nextValue(observation))).toBe(31);

      const stillQuiet = happens(observation, 'notification', 400);
      sensor.setValue(32); // stays above
      expect(await stillQuiet).toBe(false);

      sensor.setValue(29); // crosses downwards
      expect(observedValue(await nextValue(observation))).toBe(29);
    } finally {
      await observation.cancel();
      await t.server.writeAttributes(endpoint, '/3303/0/5700', { unset: ['gt'] });
    }
  });

  test('observe with lt and pmin: a change inside pmin waits for it to end', async () => {
    const sensor = device.sensors[0] as TemperatureSensor;
    sensor.setValue(20);
    await t.server.writeAttributes(endpoint, '/3303/0/5700', { set: { lt: 10, pmin: 1 } });
    const observation = await t.server.observe(endpoint, '/3303/0/5700');
    try {
      const started = Date.now();
      await nextValue(observation);
      sensor.setValue(5); // crosses lt at once, but pmin holds it back
      expect(observedValue(await nextValue(observation, 3_000))).toBe(5);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await observation.cancel();
      await t.server.writeAttributes(endpoint, '/3303/0/5700', { unset: ['lt', 'pmin'] });
    }
  });

  test('observe with pmax inherited from the instance: the value is notified without a change', async () => {
    await t.server.writeAttributes(endpoint, '/3303/0', { set: { pmax: 1 } });
    const observation = await t.server.observe(endpoint, '/3303/0/5700');
    try {
      const value = observedValue(await nextValue(observation));
      const started = Date.now();
      expect(observedValue(await nextValue(observation, 3_000))).toBe(value);
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    } finally {
      await observation.cancel();
      await t.server.writeAttributes(endpoint, '/3303/0', { unset: ['pmax'] });
    }
  });

  test('block-wise: a 3 KB value is written with Block1 and read back with Block2', async () => {
    const long = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    await t.server.write(endpoint, '/3303/1/5750', long);
    expect(valueOf(await t.server.read(endpoint, '/3303/1/5750'))).toBe(long);
    const instance = await t.server.read(endpoint, '/3303/1', { format: ContentFormat.SENML_JSON });
    expect(resourceOf(instance, 5750, 1)).toBe(long);

    // Notifications that do not fit one datagram come with Block2 too.
    const observation = await t.server.observe(endpoint, '/3303/1', { format: ContentFormat.SENML_JSON });
    try {
      const first = await nextValue(observation);
      if (first.composite) throw new Error('expected a single-path value');
      expect(resourceOf(first.node, 5750, 1)).toBe(long);
      (device.sensors[1] as TemperatureSensor).setValue(33.5);
      const next = await nextValue(observation);
      if (next.composite) throw new Error('expected a single-path value');
      expect(resourceOf(next.node, 5700, 1)).toBe(33.5);
      expect(resourceOf(next.node, 5750, 1)).toBe(long);
    } finally {
      await observation.cancel();
      await t.server.write(endpoint, '/3303/1/5750', 'short again');
    }
  });

  test('active cancel: the client stops notifying', async () => {
    const sensor = device.sensors[1] as TemperatureSensor;
    const observation = await t.server.observe(endpoint, '/3303/1/5700');
    await nextValue(observation);
    sensor.setValue(19);
    expect(observedValue(await nextValue(observation))).toBe(19);

    await observation.cancel({ active: true });
    expect(observation.active).toBe(false);
    expect(t.server.observations(endpoint)).toHaveLength(0);
    const notified = happens<[NotifyInfo]>(device.client, 'notify', 400);
    sensor.setValue(19.5);
    expect(await notified).toBe(false);
  });

  test('passive cancel: the next notification is reset and the client forgets the observation', async () => {
    const sensor = device.sensors[1] as TemperatureSensor;
    const observation = await t.server.observe(endpoint, '/3303/1/5700');
    await nextValue(observation);

    await observation.cancel({ active: false });
    expect(observation.active).toBe(false);
    const serverSaw = happens<[NotificationEvent]>(t.server, 'notification', 500);
    const clientSent = waitFor<[NotifyInfo]>(device.client, 'notify');
    sensor.setValue(17);
    await clientSent; // still observed on the client until the server answers Reset
    expect(await serverSaw).toBe(false);

    await delay(200); // the Reset travels back
    const again = happens<[NotifyInfo]>(device.client, 'notify', 400);
    sensor.setValue(16);
    expect(await again).toBe(false);
  });

  test('execute with arguments reaches the resource', async () => {
    const sensor = device.sensors[1] as TemperatureSensor;
    sensor.setValue(40);
    sensor.setValue(22);
    expect(valueOf(await t.server.read(endpoint, '/3303/1/5602'))).toBe(40);
    const executed = waitFor<[DmOperation]>(device.client, 'execute');
    await t.server.execute(endpoint, '/3303/1/5605', { 0: 'all', 1: undefined });
    const [operation] = await executed;
    expect(operation).toMatchObject({ paths: [[3303, 1, 5605]], args: "0='all',1" });
    expect(valueOf(await t.server.read(endpoint, '/3303/1/5602'))).toBe(22);
    expect(valueOf(await t.server.read(endpoint, '/3303/1/5601'))).toBe(22);
    // Execute on the Device's Reboot goes to the device's hook, without arguments.
    const reboot = waitFor<[DmOperation]>(device.client, 'execute');
    await t.server.execute(endpoint, '/3/0/4');
    expect((await reboot)[0]).toMatchObject({ paths: [[3, 0, 4]], args: '' });
  });

  // Execute on a readable single-instance resource: 4.05 (TS Core's Execute table), not a partial-update Write.
  test('execute on a resource that is not executable is refused with 4.05', async () => {
    await expect(t.server.execute(endpoint, '/3303/1/5700')).rejects.toMatchObject({ codeText: '4.05' });
    await expect(t.server.execute(endpoint, '/3303/1/5750')).rejects.toMatchObject({ codeText: '4.05' });
  });

  test('create and delete an instance; the registration follows', async () => {
    const updatedWithNew = waitFor<[Registration]>(
      t.server,
      'updated',
      (r) => r.endpoint === endpoint && r.objectLinks.includes('</3303/5>'),
    );
    const created = await t.server.create(
      endpoint,
      '/3303',
      objectInstance(5, [singleResource(5750, 'string', 'attic')]),
    );
    expect(created).toEqual([3303, 5]);
    expect(valueOf(await t.server.read(endpoint, '/3303/5/5750'))).toBe('attic');
    expect(valueOf(await t.server.read(endpoint, '/3303/5/5701'))).toBe('Cel');
    await updatedWithNew;

    const updatedWithout = waitFor<[Registration]>(
      t.server,
      'updated',
      (r) => r.endpoint === endpoint && !r.objectLinks.includes('</3303/5>'),
    );
    await t.server.delete(endpoint, '/3303/5');
    await expect(t.server.read(endpoint, '/3303/5')).rejects.toMatchObject({ codeText: '4.04' });
    await updatedWithout;
    // The Device instance cannot be deleted.
    await expect(t.server.delete(endpoint, '/3/0')).rejects.toBeInstanceOf(RequestFailedError);
  });

  test('discover lists resources, with the attributes written', async () => {
    await t.server.writeAttributes(endpoint, '/3303/0/5700', { set: { pmin: 2, pmax: 30 } });
    await t.server.writeAttributes(endpoint, '/3303/0', { set: { pmax: 120 } });
    try {
      const links = await t.server.discover(endpoint, '/3303/0');
      const byPath = new Map(links.map((l) => [l.path.join('/'), l]));
      expect(byPath.get('3303/0')?.attributes).toMatchObject({ pmax: 120 });
      expect(byPath.get('3303/0/5700')?.attributes).toMatchObject({ pmin: 2, pmax: 30 });
      expect(byPath.has('3303/0/5701')).toBe(true);
      expect(byPath.has('3303/0/5605')).toBe(true);

      const objects = await t.server.discover(endpoint, '/3');
      expect(objects.map((l) => l.path.join('/'))).toEqual(
        expect.arrayContaining(['3', '3/0', '3/0/0', '3/0/13']),
      );
    } finally {
      await t.server.writeAttributes(endpoint, '/3303/0/5700', { unset: ['pmin', 'pmax'] });
      await t.server.writeAttributes(endpoint, '/3303/0', { unset: ['pmax'] });
    }
  });

  test('read-composite returns each path decoded', async () => {
    (device.sensors[1] as TemperatureSensor).setValue(23.25);
    const values = await t.server.readComposite(endpoint, ['/3/0/0', '/3303/1/5700', '/3303/0/5701']);
    expect(valueOf(values.get('/3/0/0'))).toBe('Acme');
    expect(valueOf(values.get('/3303/1/5700'))).toBe(23.25);
    expect(valueOf(values.get('/3303/0/5701'))).toBe('Cel');
  });

  test('write-composite writes several resources at once', async () => {
    await t.server.writeComposite(endpoint, {
      '/3/0/14': singleResource(14, 'string', '+05:30'),
      '/3/0/15': singleResource(15, 'string', 'Asia/Kolkata'),
      '/3303/0/5750': singleResource(5750, 'string', 'kitchen'),
    });
    const values = await t.server.readComposite(endpoint, ['/3/0/14', '/3/0/15', '/3303/0/5750']);
    expect([...values].map(([p, n]) => [p, valueOf(n)])).toEqual([
      ['/3/0/14', '+05:30'],
      ['/3/0/15', 'Asia/Kolkata'],
      ['/3303/0/5750', 'kitchen'],
    ]);
  });

  test('observe-composite notifies the set of paths when one changes', async () => {
    const sensor = device.sensors[1] as TemperatureSensor;
    sensor.setValue(21);
    const observation = await t.server.observeComposite(endpoint, ['/3303/1/5700', '/3/0/0']);
    try {
      const first = await nextValue(observation);
      expect(first.composite).toBe(true);
      if (!first.composite) return;
      expect(valueOf(first.nodes.get('/3303/1/5700'))).toBe(21);
      expect(valueOf(first.nodes.get('/3/0/0'))).toBe('Acme');

      const event = waitFor<[NotificationEvent]>(
        t.server,
        'notification',
        (e) => e.token === observation.token,
      );
      sensor.setValue(21.5);
      const next = await nextValue(observation);
      if (!next.composite) throw new Error('expected a composite notification');
      expect(valueOf(next.nodes.get('/3303/1/5700'))).toBe(21.5);
      expect(valueOf(next.nodes.get('/3/0/0'))).toBe('Acme');
      const [e] = await event;
      expect(e.registration.endpoint).toBe(endpoint);
    } finally {
      await observation.cancel();
    }
    const notified = happens<[NotifyInfo]>(device.client, 'notify', 400);
    sensor.setValue(22);
    expect(await notified).toBe(false);
  });

  test('Send arrives as a typed send event', async () => {
    (device.sensors[0] as TemperatureSensor).setValue(12.5);
    const sent = waitFor<[SendEvent]>(t.server, 'send');
    await device.client.send(['/3303/0/5700', '/3/0/0']);
    const [event] = await sent;
    expect(event.registration.endpoint).toBe(endpoint);
    expect(event.format).toBe(ContentFormat.SENML_CBOR);
    const nodes = new Map(event.data.flatMap((group) => [...group.nodes]));
    expect(valueOf(nodes.get('/3303/0/5700'))).toBe(12.5);
    expect(valueOf(nodes.get('/3/0/0'))).toBe('Acme');
  });

  describe('explicit formats give the same decoded values', () => {
    const multiValueFormats = [
      ['TLV', ContentFormat.TLV],
      ['SenML JSON', ContentFormat.SENML_JSON],
      ['SenML CBOR', ContentFormat.SENML_CBOR],
      ['LwM2M JSON', ContentFormat.JSON],
      ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
    ] as const;
    const singleValueFormats = [
      ['text', ContentFormat.TEXT],
      ['CBOR', ContentFormat.CBOR],
      ...multiValueFormats,
    ] as const;

    test.each(multiValueFormats)('read /3/0 and /3303 in %s', async (_name, format) => {
      // Current Time (13) moves between reads; everything else must match the default format's answer.
      const reference = plain(await t.server.read(endpoint, '/3/0'), [13]);
      expect(plain(await t.server.read(endpoint, '/3/0', { format }), [13])).toEqual(reference);
      const sensors = plain(await t.server.read(endpoint, '/3303'));
      expect(plain(await t.server.read(endpoint, '/3303', { format }))).toEqual(sensors);
    });

    test.each(singleValueFormats)('read and write single resources in %s', async (_name, format) => {
      expect(valueOf(await t.server.read(endpoint, '/3/0/0', { format }))).toBe('Acme');
      expect(valueOf(await t.server.read(endpoint, '/3/0/6/0', { format }))).toBe(1);
      (device.sensors[1] as TemperatureSensor).setValue(-7.75);
      expect(valueOf(await t.server.read(endpoint, '/3303/1/5700', { format }))).toBe(-7.75);
      const offset: ResourceValue = `+0${format % 10}:00`;
      await t.server.write(endpoint, '/3/0/14', offset, { format });
      expect(valueOf(await t.server.read(endpoint, '/3/0/14'))).toBe(offset);
    });

    test.each(singleValueFormats)(
      'write and read the time resource (Current Time) in %s',
      async (_name, format) => {
        const when = new Date('2031-05-06T07:08:09Z');
        await t.server.write(endpoint, '/3/0/13', when, { format });
        const back = valueOf(await t.server.read(endpoint, '/3/0/13', { format }));
        expect(back).toBeInstanceOf(Date);
        const drift = (back as Date).getTime() - when.getTime();
        expect(drift).toBeGreaterThanOrEqual(0);
        expect(drift).toBeLessThan(3_000);
      },
    );

    test.each(multiValueFormats)('read a multiple-instance resource in %s', async (_name, format) => {
      const node = await t.server.read(endpoint, '/3/0/6', { format });
      expect(node.kind).toBe('multipleResource');
      if (node.kind !== 'multipleResource') return;
      expect([...node.instances]).toEqual([
        [0, 1],
        [1, 5],
      ]);
      expect(valueOf(await t.server.read(endpoint, '/3/0/6/1', { format }))).toBe(5);
    });

    test.each(multiValueFormats)('observe in %s', async (_name, format) => {
      const sensor = device.sensors[1] as TemperatureSensor;
      sensor.setValue(10);
      const observation = await t.server.observe(endpoint, '/3303/1', { format });
      try {
        const first = await nextValue(observation);
        expect(first.format).toBe(format);
        if (first.composite) throw new Error('expected a single-path value');
        expect(resourceOf(first.node, 5700, 1)).toBe(10);
        sensor.setValue(11);
        const next = await nextValue(observation);
        if (next.composite) throw new Error('expected a single-path value');
        expect(next.format).toBe(format);
        expect(resourceOf(next.node, 5700, 1)).toBe(11);
      } finally {
        await observation.cancel();
      }
    });
  });
});

describe('many clients at once', () => {
  test('20 clients register concurrently and each answers for itself', async () => {
    const t = await startServer();
    const clients: Lwm2mClient[] = [];
    try {
      const names = Array.from({ length: 20 }, (_, i) => `e2e-many-${i}`);
      const all = new Set(names);
      const registered = new Promise<void>((resolve) => {
        t.server.on('registered', (r) => {
          all.delete(r.endpoint);
          if (all.size === 0) resolve();
        });
      });
      for (const name of names) {
        const client = createClient({
          endpoint: name,
          transport: loopbackTransport(),
          servers: [{ uri: t.coapUri, ssid: 1, lifetime: 60 }],
          device: { serialNumber: `serial-of-${name}` },
          transmission: FAST_COAP,
          requestTimeout: 2_000,
        });
        clients.push(client);
      }
      await Promise.all(clients.map((c) => c.start()));
      await registered;
      const serials = await Promise.all(
        names.map(async (name) => valueOf(await t.server.read(name, '/3/0/2'))),
      );
      expect(serials).toEqual(names.map((name) => `serial-of-${name}`));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await t.close();
    }
  });
});

describe('one client, two servers', () => {
  test('each server gets its own registration, Access Control decides what it may do, Send picks the server', async () => {
    const a = await startServer();
    const b = await startServer();
    const sensor = new TemperatureSensor({ initial: 20 });
    const client = createClient({
      endpoint: 'e2e-two-servers',
      transport: loopbackTransport(),
      servers: [
        { uri: a.coapUri, ssid: 1, lifetime: 60 },
        { uri: b.coapUri, ssid: 2, lifetime: 60 },
      ],
      device: { manufacturer: 'Shared' },
      objects: [{ id: 3303, instances: new Map([[0, sensor]]) }],
      // Server 1 owns everything; server 2 may only read the sensor.
      accessControl: [
        { objectId: 3, instanceId: 0, owner: 1 },
        { objectId: 3303, instanceId: 0, owner: 1, acl: { 2: AccessRight.READ } },
      ],
      transmission: FAST_COAP,
      requestTimeout: 2_000,
    });
    try {
      const onA = waitFor<[Registration]>(a.server, 'registered');
      const onB = waitFor<[Registration]>(b.server, 'registered');
      await client.start();
      await Promise.all([onA, onB]);

      expect(valueOf(await a.server.read('e2e-two-servers', '/3/0/0'))).toBe('Shared');
      await expect(b.server.read('e2e-two-servers', '/3/0/0')).rejects.toMatchObject({ codeText: '4.01' });
      expect(valueOf(await b.server.read('e2e-two-servers', '/3303/0/5700'))).toBe(20);
      await expect(b.server.write('e2e-two-servers', '/3303/0/5750', 'b was here')).rejects.toMatchObject({
        codeText: '4.01',
      });
      await a.server.write('e2e-two-servers', '/3303/0/5750', 'a was here');

      // Both observe; a change reaches both.
      const [obsA, obsB] = await Promise.all([
        a.server.observe('e2e-two-servers', '/3303/0/5700'),
        b.server.observe('e2e-two-servers', '/3303/0/5700'),
      ]);
      await Promise.all([nextValue(obsA), nextValue(obsB)]);
      sensor.setValue(24);
      expect(observedValue(await nextValue(obsA))).toBe(24);
      expect(observedValue(await nextValue(obsB))).toBe(24);

      const toB = waitFor<[SendEvent]>(b.server, 'send');
      const onAToo = happens(a.server, 'send', 300);
      await client.send(['/3303/0/5700'], { ssid: 2 });
      await toB;
      expect(await onAToo).toBe(false);
    } finally {
      await client.close();
      await a.close();
      await b.close();
    }
  });
});

describe('registration life cycle as the server sees it', () => {
  let t: TestServer;

  beforeEach(async () => {
    t = await startServer();
  });

  afterEach(async () => {
    await t?.close();
  });

  test('updates (new lifetime, Registration Update Trigger) keep observations', async () => {
    const endpoint = 'e2e-coap-update';
    const device = await startDevice(t, endpoint);
    try {
      const sensor = device.sensors[0] as TemperatureSensor;
      const observation = await t.server.observe(endpoint, '/3303/0/5700');
      await nextValue(observation);

      const lifetimeUpdate = waitFor<[Registration, Registration]>(
        t.server,
        'updated',
        (r) => r.endpoint === endpoint,
      );
      await t.server.write(endpoint, '/1/0/1', 45);
      const [updated, previous] = await lifetimeUpdate;
      expect(previous.lifetime).toBe(60);
      expect(updated).toMatchObject({ id: device.registration.id, lifetime: 45 });
      sensor.setValue(30);
      expect(observedValue(await nextValue(observation))).toBe(30);

      const triggered = waitFor<[Registration]>(t.server, 'updated', (r) => r.endpoint === endpoint);
      await t.server.execute(endpoint, '/1/0/8');
      await triggered;
      sensor.setValue(31);
      expect(observedValue(await nextValue(observation))).toBe(31);
      expect(observation.active).toBe(true);
      expect(t.server.observations(endpoint)).toEqual([observation]);
      await observation.cancel();
    } finally {
      await device.client.close();
    }
  });

  test('close() deregisters: deregistered event, observations dropped', async () => {
    const endpoint = 'e2e-coap-dereg';
    const device = await startDevice(t, endpoint);
    const observation = await t.server.observe(endpoint, '/3303/0/5700');
    await nextValue(observation);
    expect(t.server.observations(endpoint)).toHaveLength(1);
    const ended = waitFor<[Error | undefined]>(observation, 'end');
    const deregistered = waitFor<[Registration]>(t.server, 'deregistered', (r) => r.endpoint === endpoint);
    await device.client.close();
    const [registration] = await deregistered;
    expect(registration.id).toBe(device.registration.id);
    const [error] = await ended;
    expect(error).toMatchObject({ code: 'ERR_REGISTRATION_ENDED' });
    expect(observation.active).toBe(false);
    expect(t.server.observations(endpoint)).toHaveLength(0);
    const stored: unknown[] = [];
    for await (const o of t.server.observationStore.all()) stored.push(o);
    expect(stored).toHaveLength(0);
    expect(await t.server.getRegistration(endpoint)).toBeUndefined();
    await expect(t.server.read(endpoint, '/3/0/0')).rejects.toMatchObject({ code: 'ERR_NOT_REGISTERED' });
  });

  test('Disable (1/0/4) deregisters the client; it registers again after the Disable Timeout', async () => {
    const endpoint = 'e2e-coap-disable';
    const device = await startDevice(t, endpoint);
    try {
      await t.server.write(endpoint, '/1/0/5', 1); // Disable Timeout: 1 s
      const deregistered = waitFor<[Registration]>(t.server, 'deregistered', (r) => r.endpoint === endpoint);
      const disabled = waitFor<[{ ssid: number; until: number }]>(device.client, 'disabled');
      await t.server.execute(endpoint, '/1/0/4');
      await deregistered;
      const [{ until }] = await disabled;
      expect(until - Date.now()).toBeLessThanOrEqual(1_000);
      expect(await t.server.getRegistration(endpoint)).toBeUndefined();
      const started = Date.now();
      const [again] = await waitFor<[Registration]>(
        t.server,
        'registered',
        (r) => r.endpoint === endpoint,
        4_000,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(again.id).not.toBe(device.registration.id);
    } finally {
      await device.client.close();
    }
  });

  test('a client that registers again replaces its registration and its observations end', async () => {
    const endpoint = 'e2e-coap-again';
    const first = await startDevice(t, endpoint);
    const observation = await t.server.observe(endpoint, '/3303/0/5700');
    await nextValue(observation);
    const ended = waitFor<[Error | undefined]>(observation, 'end');
    // A second process of the same device (e.g. after a reboot that lost its state).
    const replaced = waitFor<[Registration, Registration | undefined]>(
      t.server,
      'registered',
      (r) => r.endpoint === endpoint,
    );
    const second = await startDevice(t, endpoint);
    try {
      const [registration, old] = await replaced;
      expect(old?.id).toBe(first.registration.id);
      expect(registration.id).not.toBe(first.registration.id);
      await ended;
      expect(t.server.observations(endpoint)).toHaveLength(0);
      expect(valueOf(await t.server.read(endpoint, '/3303/1/5700'))).toBe(18.5);
    } finally {
      await second.client.close();
      await first.client.close();
    }
  });
});
