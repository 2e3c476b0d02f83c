import { once } from 'node:events';
import { CoapCode } from '@lwm2m/transport-coap';
import { createClient, TemperatureSensor, temperatureObject } from '../src/index.js';
import type { ClientOptions, Lwm2mClient } from '../src/index.js';
import { FakeClock, settle } from './fake-clock.js';
import { MEMORY_SERVER_URI, memoryServer } from './fake-server.js';
import type { FakeServer, ReceivedRequest } from './fake-server.js';

const isRegister = (r: ReceivedRequest): boolean => r.method === 'POST' && r.path === '/rd';
const isUpdate = (r: ReceivedRequest): boolean => r.method === 'POST' && r.path.startsWith('/rd/');
const isDeregister = (r: ReceivedRequest): boolean => r.method === 'DELETE' && r.path.startsWith('/rd/');

describe('registration life cycle', () => {
  let client: Lwm2mClient | undefined;
  let server: FakeServer;
  let clock: FakeClock;

  async function startClient(options: Partial<ClientOptions> = {}, register = true): Promise<Lwm2mClient> {
    const memory = memoryServer();
    server = memory.server;
    clock = new FakeClock();
    client = createClient({
      endpoint: 'reg-test',
      transport: memory.transport,
      clock,
      servers: [{ uri: MEMORY_SERVER_URI, ssid: 7, lifetime: 300 }],
      objects: [temperatureObject([new TemperatureSensor()])],
      retry: { attempts: 3, initialDelay: 1000, maxDelay: 10_000, sequenceDelay: 3_600_000 },
      ...options,
    });
    if (register) {
      const registered = once(client, 'registered');
      await client.start();
      await registered;
    }
    return client;
  }

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server.close();
  });

  it('registers with LwM2M 1.1 parameters and the object links, without the Security object', async () => {
    await startClient();
    const register = server.requests.find(isRegister)!;
    expect(register.query).toEqual(['ep=reg-test', 'lt=300', 'lwm2m=1.1', 'b=U']);
    expect(register.contentFormat).toBe(40);
    expect(register.payload).toBe(
      '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1>;ver=1.1,</1/0>,</2>;ver=1.1,</3>;ver=1.1,</3/0>,</3303>;ver=1.1,</3303/0>',
    );
    expect(client!.sessions()).toEqual([
      {
        ssid: 7,
        uri: MEMORY_SERVER_URI,
        state: 'registered',
        location: '/rd/r1',
        asleep: false,
        storedNotifications: 0,
      },
    ]);
  });

  it('uses b=UQ for a 1.0 queue-mode client and the Q flag for 1.1 and 1.2', async () => {
    await startClient({ version: '1.0', queueMode: true });
    expect(server.requests.find(isRegister)!.query).toEqual(['ep=reg-test', 'lt=300', 'lwm2m=1.0', 'b=UQ']);
    expect(server.requests.find(isRegister)!.payload.startsWith('</>;rt="oma.lwm2m",</1>;ver=1.1')).toBe(
      true,
    );
    await client!.close();
    await server.close();
    await startClient({ version: '1.2', queueMode: { awakeTime: 5000 } });
    const register = server.requests.find(isRegister)!;
    expect(register.query).toEqual(['ep=reg-test', 'lt=300', 'lwm2m=1.2', 'b=U', 'Q']);
    expect(register.payload).toContain('ct="60 110 112 11542 11543 11544"');
  });

  it('updates before the lifetime runs out, again and again', async () => {
    await startClient();
    await clock.advance(239_000);
    expect(server.requests.filter(isUpdate)).toHaveLength(0);
    await clock.advance(1000);
    expect(server.requests.filter(isUpdate)).toHaveLength(1);
    const update = server.requests.find(isUpdate)!;
    expect(update.path).toBe('/rd/r1');
    expect(update.query).toEqual([]);
    expect(update.payload).toBe('');
    await clock.advance(240_000);
    expect(server.requests.filter(isUpdate)).toHaveLength(2);
  });

  it('sends lt in an Update when the server writes the lifetime, and updates on the trigger', async () => {
    await startClient();
    const updated = server.next(isUpdate);
    expect(
      (await server.request({ method: 'PUT', path: '/1/0/1', contentFormat: 0, payload: '600' })).code,
    ).toBe(CoapCode.CHANGED);
    expect((await updated).query).toEqual(['lt=600']);
    const triggered = server.next(isUpdate);
    expect((await server.request({ method: 'POST', path: '/1/0/8' })).code).toBe(CoapCode.CHANGED);
    await clock.advance(0);
    expect((await triggered).query).toEqual([]);
  });

  it('sends the new links in an Update when an instance is added locally', async () => {
    await startClient();
    const updated = server.next(isUpdate);
    client!.addInstance(3303, 1, new TemperatureSensor({ initial: 5 }));
    expect((await updated).payload).toContain('</3303/0>,</3303/1>');
  });

  it('deregisters on Disable and registers again after the Disable Timeout', async () => {
    await startClient({ servers: [{ uri: MEMORY_SERVER_URI, ssid: 7, lifetime: 300, disableTimeout: 60 }] });
    const disabled = once(client!, 'disabled');
    expect((await server.request({ method: 'POST', path: '/1/0/4' })).code).toBe(CoapCode.CHANGED);
    await clock.advance(0);
    await disabled;
    expect(server.requests.filter(isDeregister)).toHaveLength(1);
    expect(client!.sessions()[0]?.state).toBe('disabled');
    await clock.advance(59_000);
    expect(server.requests.filter(isRegister)).toHaveLength(1);
    await clock.advance(1000);
    expect(server.requests.filter(isRegister)).toHaveLength(2);
    expect(client!.sessions()[0]?.state).toBe('registered');
  });

  it('deregisters on close, once', async () => {
    await startClient();
    const deregistered = once(client!, 'deregistered');
    await Promise.all([client!.close(), client!.close()]);
    expect(await deregistered).toEqual([{ ssid: 7 }]);
    expect(server.requests.filter(isDeregister).map((r) => r.path)).toEqual(['/rd/r1']);
  });

  it('retries a refused registration with exponential back-off, then reports the final failure', async () => {
    const memoryFailures: boolean[] = [];
    await startClient({}, false);
    server.answer = (r) => (isRegister(r) ? { code: CoapCode.INTERNAL_SERVER_ERROR } : undefined);
    client!.on('registration-failed', ({ final }) => memoryFailures.push(final));
    await client!.start();
    await settle();
    expect(memoryFailures).toEqual([false]);
    await clock.advance(999);
    expect(server.requests.filter(isRegister)).toHaveLength(1);
    await clock.advance(1);
    expect(server.requests.filter(isRegister)).toHaveLength(2);
    await clock.advance(2000);
    expect(server.requests.filter(isRegister)).toHaveLength(3);
    expect(memoryFailures).toEqual([false, false, true]);
    expect(client!.sessions()[0]?.state).toBe('failed');
    // A new sequence after the sequence delay.
    server.answer = undefined;
    const registered = once(client!, 'registered');
    await clock.advance(3_600_000);
    await registered;
  });

  it('registers again when the server forgot the registration (Update answered 4.04)', async () => {
    await startClient();
    server.answer = (r) => (isUpdate(r) ? { code: CoapCode.NOT_FOUND } : undefined);
    const registered = once(client!, 'registered');
    await clock.advance(240_000);
    const [info] = await registered;
    expect(info).toEqual({ ssid: 7, uri: MEMORY_SERVER_URI, location: '/rd/r2' });
  });

  it('stores notifications while the server is unreachable and sends them after registering again', async () => {
    const sensor = new TemperatureSensor({ initial: 10 });
    await startClient({ objects: [temperatureObject([sensor])] });
    const observation = await server.endpoint.observe(
      { peer: server.peer!, method: 'GET', path: '/3303/0/5700' },
      { timeout: 5000 },
    );
    const values: string[] = [];
    void (async () => {
      for await (const n of observation) values.push(Buffer.from(n.payload).toString());
    })();
    await settle();
    server.answer = (r) =>
      isUpdate(r)
        ? { code: CoapCode.NOT_FOUND }
        : isRegister(r)
          ? { code: CoapCode.SERVICE_UNAVAILABLE }
          : undefined;
    await clock.advance(240_000);
    expect(client!.sessions()[0]?.state).toBe('failed');
    sensor.setValue(11);
    sensor.setValue(12);
    await settle();
    expect(client!.sessions()[0]?.storedNotifications).toBe(2);
    expect(values).toEqual(['10']);
    server.answer = undefined;
    await clock.advance(1000);
    await settle();
    expect(client!.sessions()[0]?.state).toBe('registered');
    expect(values).toEqual(['10', '11', '12']);
    observation.cancel?.();
  });
});
