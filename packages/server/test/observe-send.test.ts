import { ContentFormat, createCoreObjectRegistry, singleResource } from '@lwm2m/core';
import type { Lwm2mNode } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode } from '@lwm2m/transport-coap';
import type { IncomingRequest, OutgoingResponse, ServerObservation } from '@lwm2m/transport-coap';
import { RegistrationEndedError, RequestFailedError } from '../src/errors.js';
import type { NotificationEvent, SendEvent } from '../src/server.js';
import { codeText, createHarness, eventually } from './harness.js';
import type { Harness } from './harness.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });

describe('observe', () => {
  let h: Harness;
  let observers: ServerObservation[];
  let cancels: string[];
  let id: string;
  let value: number;

  async function setup(): Promise<void> {
    observers = [];
    cancels = [];
    value = 20;
    h = await createHarness({}, (request: IncomingRequest): OutgoingResponse => {
      if (request.observe === 1) cancels.push('/' + request.path.join('/'));
      if (request.method === 'FETCH') {
        if (request.observe === 0) observers.push(request.acceptObserve());
        const nodes = new Map<string, Lwm2mNode>([
          ['/3303/0/5700', singleResource(5700, 'float', value)],
          ['/3/0/9', singleResource(9, 'integer', 80)],
        ]);
        return { code: CoapCode.CONTENT, contentFormat: 112, payload: codec.encodeComposite(112, nodes) };
      }
      if (request.path.join('/') === '3/0/404') return { code: CoapCode.NOT_FOUND };
      if (request.observe === 0) observers.push(request.acceptObserve());
      return { code: CoapCode.CONTENT, contentFormat: 0, payload: String(value) };
    });
    const response = await h.send({
      method: 'POST',
      path: '/rd',
      query: ['ep=o', 'lwm2m=1.1'],
      payload: '</>;ct=112,</3/0>,</3303/0>',
      contentFormat: 40,
    });
    id = response.locationPath[1] as string;
  }

  afterEach(async () => {
    await h?.close();
  });

  async function notify(v: number): Promise<void> {
    value = v;
    await observers[observers.length - 1]?.notify({
      payload: String(v),
      contentFormat: 0,
      confirmable: true,
    });
  }

  test('yields the first value then notifications, emits them, and keeps the observation in the store', async () => {
    await setup();
    const events: NotificationEvent[] = [];
    h.server.on('notification', (e) => events.push(e));
    const observation = await h.server.observe('o', '/3303/0/5700');
    expect(observation.initial).toMatchObject({
      composite: false,
      path: [3303, 0, 5700],
      node: singleResource(5700, 'float', 20),
      format: 0,
    });
    expect(await h.server.observationStore.get(observation.token)).toMatchObject({
      endpoint: 'o',
      registrationId: id,
      paths: ['/3303/0/5700'],
      composite: false,
    });
    const iterator = observation[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ node: { value: 20 } });
    await notify(21.5);
    expect((await iterator.next()).value).toMatchObject({ node: { value: 21.5 } });
    await notify(22);
    expect((await iterator.next()).value).toMatchObject({ node: { value: 22 } });
    expect(
      events.map((e) => (e.value.composite ? undefined : (e.value.node as { value: number }).value)),
    ).toEqual([21.5, 22]);
    expect(events[0]).toMatchObject({
      token: observation.token,
      observation,
      registration: { endpoint: 'o' },
    });
  });

  test('active cancel sends GET Observe=1 and removes it from the store', async () => {
    await setup();
    const observation = await h.server.observe('o', '/3303/0/5700');
    await observation.cancel();
    expect(cancels).toEqual(['/3303/0/5700']);
    expect(observation.active).toBe(false);
    expect(await h.server.observationStore.get(observation.token)).toBeUndefined();
  });

  test('passive cancel: the next notification is answered with Reset, which ends it at the client', async () => {
    await setup();
    const observation = await h.server.observe('o', '/3303/0/5700');
    const ended = new Promise((resolve) => observers[0]?.once('cancel', resolve));
    await observation.cancel({ active: false });
    expect(cancels).toEqual([]);
    await notify(30).catch(() => undefined);
    expect(await ended).toBe('reset');
  });

  test('breaking out of for-await cancels', async () => {
    await setup();
    const observation = await h.server.observe('o', '/3303/0/5700');
    for await (const v of observation) {
      expect(v.composite).toBe(false);
      break;
    }
    expect(cancels).toEqual(['/3303/0/5700']);
  });

  test('a refused observe rejects with RequestFailedError', async () => {
    await setup();
    await expect(h.server.observe('o', '/3/0/404')).rejects.toBeInstanceOf(RequestFailedError);
  });

  test('observations survive an Update and end with Deregister', async () => {
    await setup();
    const observation = await h.server.observe('o', '/3303/0/5700');
    const ended = new Promise<Error | undefined>((resolve) => observation.once('end', resolve));
    expect((await h.send({ method: 'POST', path: ['rd', id], query: ['lt=500'] })).code).toBe(
      CoapCode.CHANGED,
    );
    expect(observation.active).toBe(true);
    await notify(25);
    await eventually(() => expect(observation.active).toBe(true));
    expect((await h.send({ method: 'DELETE', path: ['rd', id] })).code).toBe(CoapCode.DELETED);
    expect(await ended).toBeInstanceOf(RegistrationEndedError);
    expect(await h.server.observationStore.byRegistration(id)).toEqual([]);
  });

  test('a new Register drops the observations of the old registration', async () => {
    await setup();
    const observation = await h.server.observe('o', '/3303/0/5700');
    await h.send({
      method: 'POST',
      path: '/rd',
      query: ['ep=o', 'lwm2m=1.1'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(observation.active).toBe(false);
    expect(h.server.observations('o')).toEqual([]);
  });

  test('observe-composite: FETCH Observe=0, values by path', async () => {
    await setup();
    const observation = await h.server.observeComposite('o', ['/3303/0/5700', '/3/0/9']);
    expect(observation.composite).toBe(true);
    const initial = observation.initial;
    expect(initial.composite && initial.nodes.get('/3/0/9')).toEqual(singleResource(9, 'integer', 80));
    const next = new Promise((resolve) => observation.once('notification', resolve));
    const nodes = new Map<string, Lwm2mNode>([
      ['/3303/0/5700', singleResource(5700, 'float', 31)],
      ['/3/0/9', singleResource(9, 'integer', 79)],
    ]);
    await observers[0]?.notify({ payload: codec.encodeComposite(112, nodes), contentFormat: 112 });
    const value = (await next) as { composite: true; nodes: Map<string, Lwm2mNode> };
    expect(value.nodes.get('/3303/0/5700')).toEqual(singleResource(5700, 'float', 31));
  });
});

describe('Send', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  test('SenML JSON and CBOR arrive as send events; 2.04', async () => {
    h = await createHarness();
    const sent: SendEvent[] = [];
    h.server.on('send', (e) => sent.push(e));
    await h.send({
      method: 'POST',
      path: '/rd',
      query: ['ep=s', 'lwm2m=1.1'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    const json = '[{"bn":"/3303/0/","n":"5700","v":21.5,"t":1700000000},{"n":"5700","v":22,"t":1700000060}]';
    expect(
      codeText(
        (
          await h.send({
            method: 'POST',
            path: '/dp',
            payload: json,
            contentFormat: ContentFormat.SENML_JSON,
          })
        ).code,
      ),
    ).toBe('2.04');
    const cbor = codec.encodeTimestamped(
      112,
      [{ nodes: new Map([['/3/0/9', singleResource(9, 'integer', 50)]]) }],
      [],
    );
    expect(
      codeText(
        (
          await h.send({
            method: 'POST',
            path: '/dp',
            payload: cbor,
            contentFormat: ContentFormat.SENML_CBOR,
          })
        ).code,
      ),
    ).toBe('2.04');
    expect(sent).toHaveLength(2);
    expect(sent[0]?.registration.endpoint).toBe('s');
    expect(sent[0]?.data.map((d) => d.time)).toEqual([1700000000, 1700000060]);
    expect(sent[0]?.data[1]?.nodes.get('/3303/0/5700')).toEqual(singleResource(5700, 'float', 22));
    expect(sent[1]?.data[0]?.nodes.get('/3/0/9')).toEqual(singleResource(9, 'integer', 50));
  });

  test('unregistered → 4.04, bad payload → 4.00, other formats → 4.15', async () => {
    h = await createHarness();
    const sent: SendEvent[] = [];
    h.server.on('send', (e) => sent.push(e));
    const json = '[{"n":"/3/0/9","v":1}]';
    expect(
      codeText((await h.send({ method: 'POST', path: '/dp', payload: json, contentFormat: 110 })).code),
    ).toBe('4.04');
    await h.send({
      method: 'POST',
      path: '/rd',
      query: ['ep=s', 'lwm2m=1.1'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(
      codeText((await h.send({ method: 'POST', path: '/dp', payload: '[{"n":', contentFormat: 110 })).code),
    ).toBe('4.00');
    expect(
      codeText((await h.send({ method: 'POST', path: '/dp', payload: '1', contentFormat: 0 })).code),
    ).toBe('4.15');
    expect(sent).toEqual([]);
  });
});
