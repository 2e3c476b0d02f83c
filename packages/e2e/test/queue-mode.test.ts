/**
 * Queue mode end to end: a 1.1 client with a short awake window (`Q`) and a server with the same
 * window. Requests for a sleeping client wait on the server and go out when the client speaks
 * again (an Update or a notification), or fail cleanly when it does not.
 */
import { createClient, TemperatureSensor } from '@lwm2m/client';
import type { DmOperation, Lwm2mClient } from '@lwm2m/client';
import { ClientSleepingError } from '@lwm2m/server';
import type { Registration } from '@lwm2m/server';
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

const AWAKE_MS = 400;

describe('queue mode', () => {
  let t: TestServer;
  let client: Lwm2mClient;
  let sensor: TemperatureSensor;
  const endpoint = 'e2e-queue';
  const events: string[] = [];

  beforeEach(async () => {
    events.length = 0;
    t = await startServer({ queueMode: { awakeTime: AWAKE_MS } });
    t.server.on('awake', (r) => events.push(`awake ${r.endpoint}`));
    t.server.on('sleeping', (r) => events.push(`sleeping ${r.endpoint}`));
    sensor = new TemperatureSensor({ initial: 20 });
    client = createClient({
      endpoint,
      transport: loopbackTransport(),
      servers: [{ uri: t.coapUri, ssid: 1, lifetime: 60 }],
      device: { manufacturer: 'Sleepy' },
      objects: [{ id: 3303, instances: new Map([[0, sensor]]) }],
      queueMode: { awakeTime: AWAKE_MS },
      transmission: FAST_COAP,
      requestTimeout: 2_000,
    });
    const registered = waitFor<[Registration]>(t.server, 'registered');
    await client.start();
    const [registration] = await registered;
    expect(registration).toMatchObject({ queueMode: true, binding: 'U' });
  });

  afterEach(async () => {
    await client?.close();
    await t?.close();
  });

  async function asleep(): Promise<void> {
    if (t.server.isAwake(endpoint)) await waitFor(t.server, 'sleeping', () => true, AWAKE_MS * 5);
    expect(t.server.isAwake(endpoint)).toBe(false);
  }

  test('awake after registering, sleeping after the window, awake again on an Update', async () => {
    expect(t.server.isAwake(endpoint)).toBe(true);
    const clientSlept = waitFor(client, 'sleep', () => true, AWAKE_MS * 5);
    await asleep();
    await clientSlept;
    expect(client.sessions()[0]?.asleep).toBe(true);

    const awake = waitFor<[Registration]>(t.server, 'awake');
    const clientWoke = waitFor(client, 'wake');
    // A new instance makes the client send an Update with the new object links.
    client.addInstance(3303, 1, new TemperatureSensor({ initial: 5 }));
    await clientWoke;
    const [registration] = await awake;
    expect(registration.endpoint).toBe(endpoint);
    expect(t.server.isAwake(endpoint)).toBe(true);
    expect(events.indexOf(`sleeping ${endpoint}`)).toBeGreaterThanOrEqual(0);
    expect(events.lastIndexOf(`awake ${endpoint}`)).toBeGreaterThan(events.indexOf(`sleeping ${endpoint}`));
  });

  test('a request made while the client sleeps waits for the Update that wakes it', async () => {
    await asleep();
    const reads: DmOperation[] = [];
    client.on('read', (op) => reads.push(op));
    let settled = false;
    const read = t.server.read(endpoint, '/3/0/0', { timeout: 5_000 }).finally(() => {
      settled = true;
    });
    expect(await happens(client, 'read', 300)).toBe(false); // queued, not sent
    expect(settled).toBe(false);

    const updated = waitFor<[Registration]>(t.server, 'updated');
    client.addInstance(3303, 1, new TemperatureSensor({ initial: 5 }));
    await updated;
    expect(valueOf(await read)).toBe('Sleepy');
    expect(reads).toHaveLength(1);
  });

  test('a request made while the client sleeps goes out after its next notification', async () => {
    const observation = await t.server.observe(endpoint, '/3303/0/5700');
    try {
      await nextValue(observation);
      await asleep();
      const write = t.server.write(endpoint, '/3/0/14', '+03:00', { timeout: 5_000 });
      expect(await happens(client, 'write', 300)).toBe(false);

      sensor.setValue(27); // the notification wakes the client and the server
      expect(observedValue(await nextValue(observation))).toBe(27);
      await write;
      expect(valueOf(await client.read('/3/0/14'))).toBe('+03:00');
    } finally {
      await observation.cancel().catch(() => undefined);
    }
  });

  test('a request for a client that never wakes times out cleanly and is never sent', async () => {
    await asleep();
    const started = Date.now();
    const read = t.server.read(endpoint, '/3/0/0', { timeout: 500 });
    await expect(read).rejects.toBeInstanceOf(ClientSleepingError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2_000);

    // When it wakes later, the expired request is not delivered.
    const reads: DmOperation[] = [];
    client.on('read', (op) => reads.push(op));
    const awake = waitFor(t.server, 'awake');
    client.addInstance(3303, 1, new TemperatureSensor({ initial: 5 }));
    await awake;
    expect(await happens(client, 'read', 300)).toBe(false);
    expect(reads).toEqual([]);
    // And the server still works with it.
    expect(valueOf(await t.server.read(endpoint, '/3/0/0'))).toBe('Sleepy');
  });

  test('an aborted wait rejects at once', async () => {
    await asleep();
    const controller = new AbortController();
    const read = t.server.read(endpoint, '/3/0/0', { timeout: 5_000, signal: controller.signal });
    controller.abort();
    await expect(read).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
