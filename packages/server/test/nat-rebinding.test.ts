import { createCoreObjectRegistry, singleResource } from '@lwm2m/core';
import type { Lwm2mNode } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode, createCoapEndpoint } from '@lwm2m/transport-coap';
import type {
  CoapEndpoint,
  IncomingRequest,
  OutgoingResponse,
  ServerObservation,
} from '@lwm2m/transport-coap';
import { createServer } from '../src/server.js';
import type { Lwm2mServer, NotificationEvent } from '../src/server.js';
import { createNatPair } from './harness.js';
import type { NatPair } from './harness.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });

/** Observations of a client whose NAT mapping changes, then announced by an Update from the new address. */
describe('NAT rebinding with live observations', () => {
  let nat: NatPair;
  let server: Lwm2mServer;
  let client: CoapEndpoint;
  let observers: ServerObservation[];
  let cancels: string[];
  let value: number;
  let id: string;

  beforeEach(async () => {
    nat = createNatPair();
    observers = [];
    cancels = [];
    value = 20;
    server = createServer({ sockets: { coap: nat.serverSocket } });
    await server.listen();
    client = createCoapEndpoint({
      socket: nat.clientSocket,
      handler: (request: IncomingRequest): OutgoingResponse => {
        if (request.observe === 1) cancels.push(`${request.method} /${request.path.join('/')}`);
        if (request.observe === 0) observers.push(request.acceptObserve());
        if (request.method === 'FETCH') {
          const nodes = new Map<string, Lwm2mNode>([['/3303/0/5700', singleResource(5700, 'float', value)]]);
          return { code: CoapCode.CONTENT, contentFormat: 112, payload: codec.encodeComposite(112, nodes) };
        }
        return { code: CoapCode.CONTENT, contentFormat: 0, payload: String(value) };
      },
    });
    const created = await client.request({
      peer: nat.serverSocket.address(),
      method: 'POST',
      path: '/rd',
      query: ['ep=nat', 'lwm2m=1.1'],
      payload: '</>;ct=112,</3303/0>',
      contentFormat: 40,
    });
    id = created.locationPath[1] as string;
  });

  afterEach(async () => {
    await server.close();
    await client.close();
  });

  async function update(): Promise<void> {
    const response = await client.request({
      peer: nat.serverSocket.address(),
      method: 'POST',
      path: `/rd/${id}`,
    });
    expect(response.code).toBe(CoapCode.CHANGED);
  }

  test('an Update from a new address moves single and composite observations there', async () => {
    const single = await server.observe('nat', '/3303/0/5700');
    const composite = await server.observeComposite('nat', ['/3303/0/5700']);
    const [singleObserver, compositeObserver] = observers;
    const events: NotificationEvent[] = [];
    server.on('notification', (event) => events.push(event));
    const singleValues = single[Symbol.asyncIterator]();
    const compositeValues = composite[Symbol.asyncIterator]();
    await singleValues.next(); // the first value
    await compositeValues.next();

    value = 21;
    await singleObserver?.notify({ payload: '21', contentFormat: 0, confirmable: true });
    expect((await singleValues.next()).value).toMatchObject({ node: { value: 21 } });

    nat.rebind(40001);
    await update();
    expect(await server.getRegistration('nat')).toMatchObject({ address: '198.51.100.7', port: 40001 });

    // CON notifications from the new address are acknowledged, not reset, and keep flowing.
    value = 22;
    await singleObserver?.notify({ payload: '22', contentFormat: 0, confirmable: true });
    expect((await singleValues.next()).value).toMatchObject({ node: { value: 22 } });
    const nodes = new Map<string, Lwm2mNode>([['/3303/0/5700', singleResource(5700, 'float', 22)]]);
    await compositeObserver?.notify({
      payload: codec.encodeComposite(112, nodes),
      contentFormat: 112,
      confirmable: true,
    });
    const compositeValue = (await compositeValues.next()).value;
    expect(compositeValue).toMatchObject({ composite: true });
    expect(
      compositeValue?.composite === true ? compositeValue.nodes.get('/3303/0/5700') : undefined,
    ).toMatchObject({ value: 22 });
    expect(events.at(-1)).toMatchObject({ token: composite.token, registration: { port: 40001 } });
    expect(single.active && composite.active).toBe(true);
    expect(server.observations('nat')).toHaveLength(2);

    // Requests go to the new address too.
    expect(await server.read('nat', '/3303/0/5700')).toMatchObject({ value: 22 });

    // Active cancel reaches the client at its new address.
    await single.cancel();
    await composite.cancel();
    expect(cancels).toEqual(['GET /3303/0/5700', 'FETCH /']);
    expect(nat.lost).toEqual([]);
  });

  test('an Update from the same address leaves observations where they are', async () => {
    const single = await server.observe('nat', '/3303/0/5700');
    const values = single[Symbol.asyncIterator]();
    await values.next();
    await update();
    await observers[0]?.notify({ payload: '23', contentFormat: 0, confirmable: true });
    expect((await values.next()).value).toMatchObject({ node: { value: 23 } });
  });

  test('before the Update, a notification from the new address is refused (the server cannot know it yet)', async () => {
    await server.observe('nat', '/3303/0/5700');
    nat.rebind(40002);
    const ended = new Promise((resolve) => observers[0]?.once('cancel', resolve));
    await observers[0]?.notify({ payload: '24', contentFormat: 0, confirmable: true }).catch(() => undefined);
    expect(await ended).toBe('reset');
  });
});
