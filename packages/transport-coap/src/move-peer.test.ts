import type { PeerAddress } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { createCoapEndpoint } from './endpoint.js';
import type { CoapEndpoint, MovedPeer } from './endpoint.js';
import { createMemorySocketPair } from './memory-socket.js';
import type { MemorySocket } from './memory-socket.js';
import { parseMessage, serializeMessage } from './message.js';
import type { CoapMessage } from './message.js';
import { uintOption } from './options.js';
import type { ServerObservation } from './observe-server.js';
import { createRouter } from './router.js';
import { flush } from './test-pair.js';
import type { CoapResponse } from './types.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');
const REBOUND: PeerAddress = { address: '203.0.113.7', port: 40001 };

/**
 * A LwM2M server (observer) and a device behind a NAT, on in-memory sockets. The device's
 * handler serves an observable resource and slow reads; the server's handler takes registration
 * Updates and moves the device's state to the address an Update came from.
 */
interface Setup {
  readonly lwm2mServer: CoapEndpoint;
  readonly device: CoapEndpoint;
  readonly serverSocket: MemorySocket;
  readonly deviceSocket: MemorySocket;
  readonly serverPeer: PeerAddress;
  /** Where the device registered from. */
  readonly registered: PeerAddress;
  readonly deviceObservations: ServerObservation[];
  readonly moves: MovedPeer[];
  /** Lets the device answer the pending slow read. */
  answerSlowRead(): void;
  close(): Promise<void>;
}

let setup: Setup | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await setup?.close();
  setup = undefined;
});

function natSetup(): Setup {
  const [serverSocket, deviceSocket] = createMemorySocketPair();
  const registered = deviceSocket.local;
  let current = registered;
  const moves: MovedPeer[] = [];
  const lwm2mServer = createCoapEndpoint({
    socket: serverSocket,
    random: () => 0,
    handler: createRouter().route(
      '/rd',
      (request) => {
        if (request.peer.address !== current.address || request.peer.port !== current.port) {
          moves.push(lwm2mServer.movePeer(current, request.peer));
          current = request.peer;
        }
        return { code: CoapCode.CHANGED };
      },
      ['POST'],
    ).handle,
  });
  const deviceObservations: ServerObservation[] = [];
  let releaseSlowRead: (() => void) | undefined;
  const device = createCoapEndpoint({
    socket: deviceSocket,
    random: () => 0,
    handler: createRouter()
      .route('/3303/0/5700', (request) => {
        if (request.observe === 0) deviceObservations.push(request.acceptObserve());
        return { code: CoapCode.CONTENT, payload: '21.0', contentFormat: 0 };
      })
      .route(
        '/3/0/0',
        () =>
          new Promise((resolve) => {
            releaseSlowRead = () => resolve({ code: CoapCode.CONTENT, payload: 'ACME', contentFormat: 0 });
          }),
      ).handle,
  });
  const result: Setup = {
    lwm2mServer,
    device,
    serverSocket,
    deviceSocket,
    serverPeer: serverSocket.local,
    registered,
    deviceObservations,
    moves,
    answerSlowRead: () => releaseSlowRead?.(),
    close: async () => {
      await Promise.all([lwm2mServer.close(), device.close()]);
    },
  };
  setup = result;
  return result;
}

function sentTo(socket: MemorySocket, peer: PeerAddress): CoapMessage[] {
  return socket.sent
    .filter((entry) => entry.peer.address === peer.address && entry.peer.port === peer.port)
    .map((entry) => parseMessage(entry.data));
}

/** The device's NAT mapping changes; it tells the server with a registration Update. */
async function rebind(s: Setup): Promise<void> {
  s.deviceSocket.publicAddress = REBOUND;
  const update = await s.device.request({ peer: s.serverPeer, method: 'POST', path: '/rd/5a3f' });
  expect(update.code).toBe(CoapCode.CHANGED);
}

describe('movePeer: NAT rebinding of an observed device', () => {
  it('without a move, a notification from the new address is answered with Reset and the observation is lost', async () => {
    const s = natSetup();
    const observation = await s.lwm2mServer.observe(
      { peer: s.registered, method: 'GET', path: '/3303/0/5700' },
      { reregister: false },
    );
    const ended: string[] = [];
    s.deviceObservations[0]!.on('cancel', (reason) => ended.push(reason));
    s.deviceSocket.publicAddress = REBOUND;
    await s.deviceObservations[0]!.notify({ payload: '22.0', confirmable: false });
    await flush();
    expect(sentTo(s.serverSocket, REBOUND).map((m) => m.type)).toEqual([CoapType.RST]);
    expect(ended).toEqual(['reset']);
    expect(observation.active).toBe(true); // the server still waits, at the old address
  });

  it('after the Update moves it, notifications from the new address are delivered and the old address gets Reset', async () => {
    const s = natSetup();
    const observation = await s.lwm2mServer.observe(
      { peer: s.registered, method: 'GET', path: '/3303/0/5700' },
      { reregister: false },
    );
    const seen: CoapResponse[] = [];
    observation.on('notification', (response) => seen.push(response));
    const notifier = s.deviceObservations[0]!;
    await notifier.notify({ payload: '21.5', confirmable: false });
    await flush();

    await rebind(s);
    expect(s.moves).toEqual([
      { clientObservations: 1, serverObservations: 0, requests: 0, messageIds: true },
    ]);
    expect(observation.peer).toEqual(REBOUND);

    await notifier.notify({ payload: '22.0', confirmable: false });
    await notifier.notify({ payload: '22.5', confirmable: true }); // resolves once acknowledged from the new address
    await flush();
    expect(seen.map((n) => [text(n.payload), n.peer])).toEqual([
      ['21.5', s.registered],
      ['22.0', REBOUND],
      ['22.5', REBOUND],
    ]);

    // Whoever holds the old address now and replays the token is rejected; nothing is delivered.
    const forged = serializeMessage({
      type: CoapType.NON,
      code: CoapCode.CONTENT,
      messageId: 0x7777,
      token: observation.token,
      options: [uintOption(6, 99)],
      payload: Buffer.from('spoofed'),
    });
    s.serverSocket.inject(forged, s.registered);
    await flush();
    expect(
      sentTo(s.serverSocket, s.registered)
        .filter((m) => m.messageId === 0x7777)
        .map((m) => m.type),
    ).toEqual([CoapType.RST]);
    expect(seen).toHaveLength(3);
    expect(observation.active).toBe(true);

    // Active cancel goes to the new address and reaches the device.
    const ended: string[] = [];
    notifier.on('cancel', (reason) => ended.push(reason));
    await observation.cancel();
    expect(ended).toEqual(['deregistered']);
  });

  it('keeps the message-id counter toward the device (it dedups by our unchanged address)', async () => {
    const s = natSetup();
    await s.lwm2mServer.request({ peer: s.registered, method: 'GET', path: '/3303/0/5700' });
    await rebind(s);
    const response = await s.lwm2mServer.request({ peer: REBOUND, method: 'GET', path: '/3303/0/5700' });
    expect(text(response.payload)).toBe('21.0');
    const before = sentTo(s.serverSocket, s.registered).filter((m) => m.type === CoapType.CON);
    const after = sentTo(s.serverSocket, REBOUND).filter((m) => m.type === CoapType.CON);
    expect(after[0]!.messageId).toBe((before.at(-1)!.messageId + 1) & 0xffff);
  });

  it('redirects a request in flight: its retransmission goes to the new address and the answer from there is taken', async () => {
    jest.useFakeTimers();
    const s = natSetup();
    // The first transmission of the read is lost.
    let dropped = 0;
    s.serverSocket.drop = (data) => {
      const message = parseMessage(data);
      return message.type === CoapType.CON && message.code === CoapCode.GET && dropped++ === 0;
    };
    const read = s.lwm2mServer.request({ peer: s.registered, method: 'GET', path: '/3/0/0' });
    await flush();
    await rebind(s);
    expect(s.moves[0]!.requests).toBe(1);
    await jest.advanceTimersByTimeAsync(2000); // ACK_TIMEOUT: the retransmission
    const reads = s.serverSocket.sent
      .map((entry) => ({ peer: entry.peer, message: parseMessage(entry.data) }))
      .filter(({ message }) => message.code === CoapCode.GET);
    expect(reads.map(({ peer }) => peer)).toEqual([s.registered, REBOUND]);
    expect(reads[1]!.message.messageId).toBe(reads[0]!.message.messageId);
    s.answerSlowRead();
    const response = await read;
    expect(text(response.payload)).toBe('ACME');
    expect(response.peer).toEqual(REBOUND);
  });

  it('moves observations the peer holds on us: notifications follow it', async () => {
    // Here the device observes the server (roles reversed): the observer's address changes.
    const s = natSetup();
    const observation = await s.lwm2mServer.observe(
      { peer: s.registered, method: 'GET', path: '/3303/0/5700' },
      { reregister: false },
    );
    const seen: string[] = [];
    observation.on('notification', (response) => seen.push(text(response.payload)));
    // The server's own address changes (as seen by the device) and the device is told so.
    s.serverSocket.publicAddress = REBOUND;
    const moved = s.device.movePeer(s.serverPeer, REBOUND);
    // The device never sent the server a message id of its own (its answers were piggybacked).
    expect(moved).toEqual({ clientObservations: 0, serverObservations: 1, requests: 0, messageIds: false });
    expect(s.deviceObservations[0]!.peer).toEqual(REBOUND);
    await s.deviceObservations[0]!.notify({ payload: '23.0', confirmable: true });
    expect(seen).toEqual(['23.0']);
    expect(sentTo(s.deviceSocket, REBOUND).map((m) => text(m.payload))).toEqual(['23.0']);
  });

  it('moving to the same address, an unknown one, or after close changes nothing', async () => {
    const s = natSetup();
    const none: MovedPeer = { clientObservations: 0, serverObservations: 0, requests: 0, messageIds: false };
    expect(s.lwm2mServer.movePeer(s.registered, s.registered)).toEqual(none);
    expect(s.lwm2mServer.movePeer({ address: '10.9.9.9', port: 1 }, REBOUND)).toEqual(none);
    await s.lwm2mServer.close();
    expect(s.lwm2mServer.movePeer(s.registered, REBOUND)).toEqual(none);
  });
});
