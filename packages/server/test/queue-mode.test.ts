import { CoapCode } from '@lwm2m/transport-coap';
import { ClientSleepingError, RegistrationEndedError } from '../src/errors.js';
import { createHarness, createManualClock, recordEvents } from './harness.js';
import type { Harness, ManualClock } from './harness.js';

describe('queue mode', () => {
  let h: Harness;
  let clock: ManualClock;
  let received: string[];
  let id: string;

  async function setup(query = ['ep=q', 'lwm2m=1.1', 'Q']): Promise<void> {
    clock = createManualClock();
    received = [];
    h = await createHarness({ clock, queueMode: { awakeTime: 10_000 } }, (request) => {
      received.push('/' + request.path.join('/'));
      return { code: CoapCode.CONTENT, contentFormat: 0, payload: 'v' };
    });
    id = (await h.send({ method: 'POST', path: '/rd', query, payload: '</3/0>', contentFormat: 40 }))
      .locationPath[1] as string;
  }

  afterEach(async () => {
    await h?.close();
  });

  test('awake after Register, asleep after the awake time; events say so', async () => {
    await setup();
    const events = recordEvents(h.server);
    expect(h.server.isAwake('q')).toBe(true);
    await expect(h.server.read('q', '/3/0/0')).resolves.toMatchObject({ value: 'v' });
    clock.advance(10_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.server.isAwake('q')).toBe(false);
    expect(events.map((e) => e.name)).toEqual(['sleeping']);
  });

  test('a request for a sleeping client waits for its next message (an Update), then goes', async () => {
    await setup();
    clock.advance(10_000);
    const pending = h.server.read('q', '/3/0/1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual([]);
    expect((await h.send({ method: 'POST', path: ['rd', id] })).code).toBe(CoapCode.CHANGED);
    await expect(pending).resolves.toMatchObject({ value: 'v' });
    expect(received).toEqual(['/3/0/1']);
  });

  test('any CoAP message wakes it (a ping)', async () => {
    await setup();
    const events = recordEvents(h.server);
    clock.advance(10_000);
    const pending = h.server.read('q', '/3/0/2');
    await h.client.ping(h.serverPeer).catch(() => undefined);
    await expect(pending).resolves.toMatchObject({ value: 'v' });
    expect(events.map((e) => e.name)).toEqual(['sleeping', 'awake']);
  });

  test('queued requests time out cleanly with ClientSleepingError', async () => {
    await setup();
    clock.advance(10_000);
    const pending = h.server.read('q', '/3/0/0', { timeout: 5_000 }).catch((e: unknown) => e);
    await Promise.resolve();
    clock.advance(5_000);
    expect(await pending).toBeInstanceOf(ClientSleepingError);
    expect(received).toEqual([]);
  });

  test('queued requests fail when the registration ends (here: expires while asleep)', async () => {
    await setup(['ep=q', 'lwm2m=1.1', 'Q', 'lt=20']);
    clock.advance(10_000);
    const pending = h.server.read('q', '/3/0/0').catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(20_000);
    expect(await pending).toBeInstanceOf(RegistrationEndedError);
    expect(received).toEqual([]);
  });

  test('abort while queued', async () => {
    await setup();
    clock.advance(10_000);
    const controller = new AbortController();
    const pending = h.server.read('q', '/3/0/0', { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
  });

  test('a 1.0 client in queue mode (b=UQ) is tracked too; a client not in queue mode never waits', async () => {
    await setup(['ep=q', 'b=UQ']);
    clock.advance(10_000);
    expect(h.server.isAwake('q')).toBe(false);
    await h.send({ method: 'POST', path: '/rd', query: ['ep=plain'], payload: '</3/0>', contentFormat: 40 });
    clock.advance(100_000);
    await expect(h.server.read('plain', '/3/0/0')).resolves.toMatchObject({ value: 'v' });
  });
});
