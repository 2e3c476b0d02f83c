import { CoapCode } from '@lwm2m/transport-coap';
import type { Registration } from '../src/registration.js';
import { registrationObjects } from '../src/registration-objects.js';
import { codeText, createHarness, createManualClock, recordEvents } from './harness.js';
import type { Harness } from './harness.js';

const LINKS = '</>;rt="oma.lwm2m";ct="60 110 112",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>';

describe('registration interface', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function register(
    query: string[],
    payload: string | Uint8Array = LINKS,
    contentFormat: number | undefined = 40,
  ) {
    return h.send({
      method: 'POST',
      path: '/rd',
      query,
      payload,
      ...(contentFormat === undefined ? {} : { contentFormat }),
    });
  }

  test('Register creates a registration at the source address and answers 2.01 with its location', async () => {
    const clock = createManualClock();
    h = await createHarness({ clock, expiryGrace: 0 });
    const events = recordEvents(h.server);
    const response = await register(['ep=dev-1', 'lt=300', 'lwm2m=1.1', 'b=U', 'Q']);
    expect(codeText(response.code)).toBe('2.01');
    expect(response.locationPath[0]).toBe('rd');
    const id = response.locationPath[1] as string;
    const registration = (await h.server.getRegistration('dev-1')) as Registration;
    expect(registration).toMatchObject({
      id,
      endpoint: 'dev-1',
      lifetime: 300,
      version: '1.1',
      binding: 'U',
      queueMode: true,
      rootPath: '/',
      supportedFormats: [60, 110, 112],
      transport: 'coap',
      address: '10.0.0.2',
      port: 56830,
      registeredAt: clock.now(),
      expiresAt: clock.now() + 300_000,
    });
    expect(registration.identity).toBeUndefined();
    expect(registrationObjects(registration).get(3303)).toEqual({ version: '1.1', instances: [0, 1] });
    expect(events.map((e) => e.name)).toEqual(['registered', 'awake']);
    expect(events[0]?.args).toEqual([registration, undefined]);
  });

  test('defaults: lt 86400, LwM2M 1.0, binding U, and 1.0 queue mode from b=UQ', async () => {
    h = await createHarness();
    expect(codeText((await register(['ep=a'])).code)).toBe('2.01');
    expect(await h.server.getRegistration('a')).toMatchObject({
      lifetime: 86400,
      version: '1.0',
      binding: 'U',
      queueMode: false,
    });
    expect(codeText((await register(['ep=b', 'b=UQ', 'lwm2m=1.0'])).code)).toBe('2.01');
    expect(await h.server.getRegistration('b')).toMatchObject({ binding: 'U', queueMode: true });
  });

  test('an alternate root path is kept and used', async () => {
    h = await createHarness();
    await register(['ep=alt', 'lwm2m=1.1'], '</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>');
    expect((await h.server.getRegistration('alt'))?.rootPath).toBe('/lwm2m/');
  });

  test.each([
    [['lt=60'], '4.00'],
    [['ep='], '4.00'],
    [['ep=x', 'lt=0'], '4.00'],
    [['ep=x', 'lt=-5'], '4.00'],
    [['ep=x', 'lt=1.5'], '4.00'],
    [['ep=x', 'lt=abc'], '4.00'],
    [['ep=x', 'lt=99999999999'], '4.00'],
    [['ep=x', 'lwm2m=one'], '4.00'],
    [['ep=x', 'lwm2m=1.3'], '4.12'],
    [['ep=x', 'lwm2m=2.0'], '4.12'],
    [['ep=x', 'lwm2m=1.1', 'b=UQ'], '4.00'],
    [['ep=x', 'lwm2m=1.1', 'b=X'], '4.00'],
    [['ep=x', 'lwm2m=1.1', 'b=UU'], '4.00'],
    [['ep=x', 'lwm2m=1.1', 'b=M'], '4.00'],
    [['ep=x', 'lwm2m=1.2', 'b=M'], '2.01'],
    [['ep=x', 'lwm2m=1.0', 'b=N'], '4.00'],
    [['ep=x', 'lwm2m=1.0', 'Q'], '4.00'],
    [['ep=x', 'lwm2m=1.1', 'Q=1'], '4.00'],
    [['ep=x', 'sms=12ab'], '4.00'],
    [['ep=x', 'sms=+33612345678'], '2.01'],
    [['ep=x', 'ep=y'], '4.00'],
    [['ep=x', 'b='], '4.00'],
  ])('query %j → %s', async (query, expected) => {
    h = await createHarness();
    const response = await register(query);
    expect(codeText(response.code)).toBe(expected);
    if (expected !== '2.01') {
      expect(Buffer.from(response.payload).toString()).not.toBe('');
      expect(await h.server.getRegistration('x')).toBeUndefined();
    }
  });

  test.each([
    ['no payload', '', 40],
    ['wrong content format', LINKS, 0],
    ['unparseable links', '</3/0,</4', 40],
    ['a path that is not LwM2M', '</3/abc>', 40],
    ['invalid UTF-8', new Uint8Array([0x3c, 0xff, 0x3e]), 40],
  ])('payload: %s → 4.00', async (_name, payload, contentFormat) => {
    h = await createHarness();
    const response = await register(['ep=x'], payload, contentFormat);
    expect(codeText(response.code)).toBe('4.00');
    expect(await h.server.getRegistration('x')).toBeUndefined();
  });

  test('a payload without Content-Format is read as link-format', async () => {
    h = await createHarness();
    expect(codeText((await register(['ep=x'], LINKS, undefined)).code)).toBe('2.01');
  });

  test('Update changes what it carries, keeps the rest, and moves the expiry', async () => {
    const clock = createManualClock();
    h = await createHarness({ clock, expiryGrace: 0 });
    const events = recordEvents(h.server);
    const id = (await register(['ep=u', 'lt=100', 'lwm2m=1.1'])).locationPath[1] as string;
    clock.advance(50_000);
    const response = await h.send({
      method: 'POST',
      path: ['rd', id],
      query: ['lt=200'],
      payload: '</>;ct=110,</3/0>',
      contentFormat: 40,
    });
    expect(codeText(response.code)).toBe('2.04');
    const updated = await h.server.getRegistration('u');
    expect(updated).toMatchObject({
      id,
      lifetime: 200,
      supportedFormats: [110],
      objectLinks: '</>;ct=110,</3/0>',
      expiresAt: clock.now() + 200_000,
    });
    expect(events.map((e) => e.name)).toEqual(['registered', 'updated']);
    expect((events[1]?.args[1] as Registration).lifetime).toBe(100);
    // Past the first lifetime, not the second: still there.
    clock.advance(150_000);
    expect(await h.server.getRegistration('u')).toBeDefined();
  });

  test('Update with bad parameters → 4.00, unknown id → 4.04', async () => {
    h = await createHarness();
    const id = (await register(['ep=u', 'lwm2m=1.1'])).locationPath[1] as string;
    expect(codeText((await h.send({ method: 'POST', path: ['rd', id], query: ['lt=0'] })).code)).toBe('4.00');
    expect(codeText((await h.send({ method: 'POST', path: ['rd', id], query: ['ep=other'] })).code)).toBe(
      '4.00',
    );
    expect(codeText((await h.send({ method: 'POST', path: ['rd', id], query: ['b=UQ'] })).code)).toBe('4.00');
    expect(codeText((await h.send({ method: 'POST', path: ['rd', 'nope'] })).code)).toBe('4.04');
    expect(codeText((await h.send({ method: 'PUT', path: ['rd', id] })).code)).toBe('4.05');
  });

  test('Deregister removes it and answers 2.02; again → 4.04', async () => {
    h = await createHarness();
    const events = recordEvents(h.server);
    const id = (await register(['ep=d'])).locationPath[1] as string;
    expect(codeText((await h.send({ method: 'DELETE', path: ['rd', id] })).code)).toBe('2.02');
    expect(await h.server.getRegistration('d')).toBeUndefined();
    expect(codeText((await h.send({ method: 'DELETE', path: ['rd', id] })).code)).toBe('4.04');
    expect(events.map((e) => e.name)).toEqual(['registered', 'deregistered']);
  });

  test('a new Register of a known endpoint replaces the old registration', async () => {
    h = await createHarness();
    const events = recordEvents(h.server);
    const first = (await register(['ep=r'])).locationPath[1] as string;
    const second = (await register(['ep=r', 'lt=60'])).locationPath[1] as string;
    expect(second).not.toBe(first);
    expect((await h.server.getRegistration('r'))?.id).toBe(second);
    expect(events[1]?.args[1]).toMatchObject({ id: first });
    expect(codeText((await h.send({ method: 'POST', path: ['rd', first] })).code)).toBe('4.04');
  });

  test('registrations expire at lifetime + grace, in order, on one timer', async () => {
    const clock = createManualClock();
    h = await createHarness({ clock, expiryGrace: 5_000 });
    const expired: string[] = [];
    h.server.on('expired', (r) => expired.push(r.endpoint));
    for (const [ep, lt] of [
      ['c', 30],
      ['a', 10],
      ['b', 20],
    ] as const)
      await register([`ep=${ep}`, `lt=${lt}`]);
    expect(clock.pending).toBe(1);
    clock.advance(14_999);
    await Promise.resolve();
    expect(expired).toEqual([]);
    clock.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(expired).toEqual(['a']);
    clock.advance(20_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(await h.server.getRegistration('c')).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  test('an authorizer can refuse with 4.03', async () => {
    const asked: string[] = [];
    h = await createHarness({
      authorizer: async (request) => {
        asked.push(`${request.operation}:${request.endpoint}`);
        return request.endpoint !== 'bad';
      },
    });
    expect(codeText((await register(['ep=bad'])).code)).toBe('4.03');
    expect(codeText((await register(['ep=good'])).code)).toBe('2.01');
    expect(asked).toEqual(['register:bad', 'register:good']);
    expect(await h.server.getRegistration('bad')).toBeUndefined();
  });

  test('an authorizer that throws refuses', async () => {
    h = await createHarness({
      authorizer: () => {
        throw new Error('boom');
      },
    });
    expect(codeText((await register(['ep=x'])).code)).toBe('4.03');
  });

  test('unknown paths → 4.04, wrong method on /rd → 4.05', async () => {
    h = await createHarness();
    expect((await h.send({ method: 'GET', path: '/other' })).code).toBe(CoapCode.NOT_FOUND);
    expect((await h.send({ method: 'GET', path: '/rd' })).code).toBe(CoapCode.METHOD_NOT_ALLOWED);
  });
});
