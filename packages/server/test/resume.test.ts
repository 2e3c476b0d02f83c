import { createCoreObjectRegistry, singleResource } from '@lwm2m/core';
import type { Lwm2mNode } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode, createCoapEndpoint, createMemorySocketPair, MemorySocket } from '@lwm2m/transport-coap';
import type {
  CoapEndpoint,
  IncomingRequest,
  OutgoingResponse,
  ServerObservation,
} from '@lwm2m/transport-coap';
import { createMemoryRegistrationStore } from '../src/memory-registration-store.js';
import { createMemoryObservationStore } from '../src/observation-store.js';
import type { ObservationStore } from '../src/observation-store.js';
import type { RegistrationStore } from '../src/registration-store.js';
import { createServer } from '../src/server.js';
import type { Lwm2mServer, NotificationEvent } from '../src/server.js';
import { eventually } from './harness.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });
const SERVER = { address: '10.0.0.1', port: 5683 };
/** Longer than one 1024-byte block: notifications of it are block-wise (RFC 7959 §2.6). */
const LONG = 'x'.repeat(2500);

/**
 * Observations made by one server process are taken over by the next one on the same address,
 * through the shared stores (memory stores stand in for Redis here).
 */
describe('observations resumed after a restart', () => {
  let registrations: RegistrationStore;
  let observations: ObservationStore;
  let first: Lwm2mServer | undefined;
  let second: Lwm2mServer | undefined;
  let clientSocket: MemorySocket;
  let client: CoapEndpoint;
  let observers: Map<string, ServerObservation>;
  let requests: string[];
  let model: string;

  function handler(request: IncomingRequest): OutgoingResponse {
    const path = `/${request.path.join('/')}`;
    requests.push(
      `${request.method} ${path}${request.observe === undefined ? '' : ` observe=${request.observe}`}`,
    );
    if (request.observe === 0)
      observers.set(request.method === 'FETCH' ? 'composite' : path, request.acceptObserve());
    if (request.method === 'FETCH') {
      const nodes = new Map<string, Lwm2mNode>([['/3/0/9', singleResource(9, 'integer', 80)]]);
      return { code: CoapCode.CONTENT, contentFormat: 112, payload: codec.encodeComposite(112, nodes) };
    }
    if (path === '/3/0/1') return { code: CoapCode.CONTENT, contentFormat: 0, payload: model };
    return { code: CoapCode.CONTENT, contentFormat: 0, payload: '80' };
  }

  async function start(socket: MemorySocket): Promise<Lwm2mServer> {
    const server = createServer({ sockets: { coap: socket }, stores: { registrations, observations } });
    await server.listen();
    return server;
  }

  /** Stops the first server and starts the second on the same address, the client staying put. */
  async function restart(): Promise<Lwm2mServer> {
    await first?.close();
    first = undefined;
    const socket = new MemorySocket(SERVER);
    socket.connect(clientSocket);
    clientSocket.connect(socket);
    second = await start(socket);
    return second;
  }

  beforeEach(async () => {
    registrations = createMemoryRegistrationStore();
    observations = createMemoryObservationStore();
    observers = new Map();
    requests = [];
    model = 'short';
    const [serverSocket, socket] = createMemorySocketPair(SERVER);
    clientSocket = socket;
    first = await start(serverSocket);
    client = createCoapEndpoint({ socket: clientSocket, handler });
    const created = await client.request({
      peer: SERVER,
      method: 'POST',
      path: '/rd',
      query: ['ep=dev', 'lwm2m=1.1'],
      payload: '</>;ct=112,</3/0>',
      contentFormat: 40,
    });
    expect(created.code).toBe(CoapCode.CREATED);
  });

  afterEach(async () => {
    await first?.close();
    await second?.close();
    await client.close();
    second = undefined;
  });

  test('single, block-wise and composite notifications reach the new process as events', async () => {
    const battery = await first?.observe('dev', '/3/0/9');
    const modelObservation = await first?.observe('dev', '/3/0/1');
    const composite = await first?.observeComposite('dev', ['/3/0/9']);
    const server = await restart();
    const events: NotificationEvent[] = [];
    server.on('notification', (event) => events.push(event));

    await observers.get('/3/0/9')?.notify({ payload: '79', contentFormat: 0, confirmable: true });
    model = LONG;
    await observers.get('/3/0/1')?.notify({ payload: LONG, contentFormat: 0, confirmable: true });
    const nodes = new Map<string, Lwm2mNode>([['/3/0/9', singleResource(9, 'integer', 78)]]);
    await observers
      .get('composite')
      ?.notify({ payload: codec.encodeComposite(112, nodes), contentFormat: 112, confirmable: true });

    await eventually(() => expect(events).toHaveLength(3));
    const byToken = new Map(events.map((e) => [e.token, e]));
    expect(byToken.size).toBe(3);
    expect(events.every((e) => e.observation === undefined && e.registration.endpoint === 'dev')).toBe(true);
    expect(byToken.get(battery?.token as string)?.value).toMatchObject({
      composite: false,
      path: [3, 0, 9],
      node: { value: 79 },
    });
    // Only the first 1024 bytes came in the notification: the new process fetched the rest (Block2).
    expect(byToken.get(modelObservation?.token as string)?.value).toMatchObject({
      composite: false,
      path: [3, 0, 1],
      node: { value: LONG },
    });
    const compositeValue = byToken.get(composite?.token as string)?.value;
    expect(compositeValue?.composite === true ? compositeValue.nodes.get('/3/0/9') : undefined).toMatchObject(
      { value: 78 },
    );
  });

  test('a resumed observation can be cancelled actively', async () => {
    const battery = await first?.observe('dev', '/3/0/9');
    const server = await restart();
    expect(await server.cancelObservation(battery?.token as string, { active: true })).toBe(true);
    expect(requests.at(-1)).toBe('GET /3/0/9 observe=1');
    expect(await observations.get(battery?.token as string)).toBeUndefined();
    expect(await server.cancelObservation(battery?.token as string)).toBe(false);
  });

  test('a resumed observation ends with its registration: the next notification gets Reset', async () => {
    const battery = await first?.observe('dev', '/3/0/9');
    await restart();
    const registration = await registrations.getByEndpoint('dev');
    const deleted = await client.request({ peer: SERVER, method: 'DELETE', path: `/rd/${registration?.id}` });
    expect(deleted.code).toBe(CoapCode.DELETED);
    expect(await observations.get(battery?.token as string)).toBeUndefined();
    const ended = new Promise((resolve) => observers.get('/3/0/9')?.once('cancel', resolve));
    await observers
      .get('/3/0/9')
      ?.notify({ payload: '70', contentFormat: 0, confirmable: true })
      .catch(() => undefined);
    expect(await ended).toBe('reset');
  });

  test('resumeObservations: false leaves them to Reset', async () => {
    await first?.observe('dev', '/3/0/9');
    await first?.close();
    first = undefined;
    const socket = new MemorySocket(SERVER);
    socket.connect(clientSocket);
    clientSocket.connect(socket);
    second = createServer({
      sockets: { coap: socket },
      stores: { registrations, observations },
      resumeObservations: false,
    });
    await second.listen();
    const ended = new Promise((resolve) => observers.get('/3/0/9')?.once('cancel', resolve));
    await observers
      .get('/3/0/9')
      ?.notify({ payload: '70', contentFormat: 0, confirmable: true })
      .catch(() => undefined);
    expect(await ended).toBe('reset');
  });
});
