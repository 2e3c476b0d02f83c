/**
 * Server restart with Redis stores (Redis at 127.0.0.1:6379): a new server process on the same
 * address finds the registration made with the old one and still receives the notifications of an
 * observation the old one made. Keys live under a unique prefix and are removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient, TemperatureSensor } from '@lwm2m/client';
import type { Lwm2mClient } from '@lwm2m/client';
import {
  createRedisObservationStore,
  createRedisRegistrationStore,
  createRedisSecurityStore,
} from '@lwm2m/store-redis';
import type { NotificationEvent, Registration, ServerStores } from '@lwm2m/server';
import {
  FAST_COAP,
  happens,
  loopbackTransport,
  nextValue,
  observedValue,
  startServer,
  valueOf,
  waitFor,
} from './loopback.js';
import type { TestServer } from './loopback.js';

describe('server restart with Redis stores', () => {
  const prefix = `lwm2m-e2e:${randomBytes(6).toString('hex')}:`;
  let redis: Redis;
  let client: Lwm2mClient | undefined;
  const clients: Lwm2mClient[] = [];
  const servers: TestServer[] = [];

  function stores(): ServerStores {
    return {
      registrations: createRedisRegistrationStore({ redis, prefix }),
      observations: createRedisObservationStore({ redis, prefix }),
      security: createRedisSecurityStore({ redis, prefix }),
    };
  }

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    await client?.close();
    for (const c of clients.splice(0)) await c.close();
    for (const t of servers.splice(0)) await t.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('the registration and an observation made before the restart survive it', async () => {
    const endpoint = 'e2e-redis-restart';
    const first = await startServer({ stores: stores() });
    servers.push(first);
    const sensor = new TemperatureSensor({ initial: 20 });
    client = createClient({
      endpoint,
      transport: loopbackTransport(),
      servers: [{ uri: first.coapUri, ssid: 1, lifetime: 60 }],
      device: { manufacturer: 'Persistent' },
      objects: [{ id: 3303, instances: new Map([[0, sensor]]) }],
      transmission: FAST_COAP,
      requestTimeout: 2_000,
    });
    const registered = waitFor<[Registration]>(first.server, 'registered');
    await client.start();
    const [registration] = await registered;

    const observation = await first.server.observe(endpoint, '/3303/0/5700');
    expect(observedValue(await nextValue(observation))).toBe(20);
    sensor.setValue(21);
    expect(observedValue(await nextValue(observation))).toBe(21);
    expect(await redis.exists(`${prefix}obs:${observation.token}`)).toBe(1);

    // The old process goes away; a new one binds the same port with the same Redis.
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const port = Number(new URL(first.coapUri).port);
    const second = await startServer({ stores: stores(), coapPort: port });
    servers.push(second);
    expect(second.coapUri).toBe(first.coapUri);

    const kept = await second.server.getRegistration(endpoint);
    expect(kept).toMatchObject({
      id: registration.id,
      address: registration.address,
      port: registration.port,
    });

    const notified = waitFor<[NotificationEvent]>(
      second.server,
      'notification',
      (e) => e.token === observation.token,
    );
    sensor.setValue(22.5);
    const [event] = await notified;
    expect(event.registration.endpoint).toBe(endpoint);
    expect(event.observation).toBeUndefined(); // made by the old process
    expect(observedValue(event.value)).toBe(22.5);

    // The new process manages the device as well.
    expect(valueOf(await second.server.read(endpoint, '/3/0/0'))).toBe('Persistent');

    // And the client's deregistration reaches the new process, which drops the stored observation.
    const deregistered = waitFor<[Registration]>(second.server, 'deregistered');
    await client.close();
    client = undefined;
    await deregistered;
    expect(await redis.exists(`${prefix}obs:${observation.token}`)).toBe(0);
    expect(await second.server.getRegistration(endpoint)).toBeUndefined();
  });

  test('the new process can cancel an observation it inherited', async () => {
    const endpoint = 'e2e-redis-cancel';
    const first = await startServer({ stores: stores() });
    servers.push(first);
    const sensor = new TemperatureSensor({ initial: 20 });
    const device = createClient({
      endpoint,
      transport: loopbackTransport(),
      servers: [{ uri: first.coapUri, ssid: 1, lifetime: 60 }],
      objects: [{ id: 3303, instances: new Map([[0, sensor]]) }],
      transmission: FAST_COAP,
      requestTimeout: 2_000,
    });
    clients.push(device);
    const registered = waitFor<[Registration]>(first.server, 'registered');
    await device.start();
    await registered;
    const observation = await first.server.observe(endpoint, '/3303/0/5700');
    await nextValue(observation);

    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await startServer({ stores: stores(), coapPort: Number(new URL(first.coapUri).port) });
    servers.push(second);

    expect(await second.server.cancelObservation(observation.token)).toBe(true);
    expect(await redis.exists(`${prefix}obs:${observation.token}`)).toBe(0);
    const seen: NotificationEvent[] = [];
    second.server.on('notification', (e) => seen.push(e));
    // The client still notifies once; the server answers Reset and the client stops.
    const sent = waitFor(device, 'notify');
    sensor.setValue(30);
    await sent;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = happens(device, 'notify', 400);
    sensor.setValue(31);
    expect(await again).toBe(false);
    expect(seen).toEqual([]);
  });

  test('a queue-mode client registered before the restart is asleep until it speaks', async () => {
    const endpoint = 'e2e-redis-queue';
    const first = await startServer({ stores: stores(), queueMode: { awakeTime: 5_000 } });
    servers.push(first);
    const device = createClient({
      endpoint,
      transport: loopbackTransport(),
      servers: [{ uri: first.coapUri, ssid: 1, lifetime: 60 }],
      device: { manufacturer: 'Sleepy and persistent' },
      objects: [{ id: 3303, instances: new Map([[0, new TemperatureSensor({ initial: 20 })]]) }],
      queueMode: { awakeTime: 5_000 },
      transmission: FAST_COAP,
      requestTimeout: 2_000,
    });
    clients.push(device);
    const registered = waitFor<[Registration]>(first.server, 'registered');
    const clientRegistered = waitFor(device, 'registered');
    await device.start();
    await registered;
    await clientRegistered;

    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await startServer({
      stores: stores(),
      queueMode: { awakeTime: 5_000 },
      coapPort: Number(new URL(first.coapUri).port),
    });
    servers.push(second);
    expect(second.server.isAwake(endpoint)).toBe(false);

    const read = second.server.read(endpoint, '/3/0/0', { timeout: 5_000 });
    expect(await happens(device, 'read', 300)).toBe(false);
    const awake = waitFor(second.server, 'awake');
    device.addInstance(3303, 1, new TemperatureSensor({ initial: 1 })); // an Update: the client speaks
    await awake;
    expect(valueOf(await read)).toBe('Sleepy and persistent');
  });
});
