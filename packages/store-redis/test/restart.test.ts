import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createServer } from '@lwm2m/server';
import type { Lwm2mServer, NotificationEvent } from '@lwm2m/server';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import type { CoapEndpoint, ServerObservation } from '@lwm2m/transport-coap';
import {
  createRedisObservationStore,
  createRedisRegistrationStore,
  createRedisSecurityStore,
} from '../src/index.js';

const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
const prefix = `test:server-restart:${randomBytes(6).toString('hex')}:`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

async function startServer(port: number): Promise<Lwm2mServer> {
  const socket = await createUdpSocket({ address: '127.0.0.1', port });
  const server = createServer({
    sockets: { coap: socket },
    stores: {
      registrations: createRedisRegistrationStore({ redis, prefix }),
      observations: createRedisObservationStore({ redis, prefix }),
      security: createRedisSecurityStore({ redis, prefix }),
    },
  });
  await server.listen();
  return server;
}

test('after a restart on the same address, registrations stay and old observations still notify', async () => {
  let first: Lwm2mServer | undefined = await startServer(0);
  let second: Lwm2mServer | undefined;
  const observers: ServerObservation[] = [];
  let client: CoapEndpoint | undefined;
  try {
    const port = first.address().port;
    client = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1' }),
      handler: (request) => {
        if (request.observe === 0) observers.push(request.acceptObserve());
        return { code: CoapCode.CONTENT, contentFormat: 0, payload: '20.5' };
      },
    });
    const peer = { address: '127.0.0.1', port };
    const created = await client.request({
      peer,
      method: 'POST',
      path: '/rd',
      query: ['ep=restart-dev', 'lwm2m=1.1'],
      payload: '</3303/0>',
      contentFormat: 40,
    });
    expect(created.code).toBe(CoapCode.CREATED);
    const observation = await first.observe('restart-dev', '/3303/0/5700');
    expect(observation.initial).toMatchObject({ node: { value: 20.5 } });

    await first.close();
    first = undefined;
    second = await startServer(port);
    const registration = await second.getRegistration('restart-dev');
    expect(registration?.id).toBe(created.locationPath[1]);

    const notifications: NotificationEvent[] = [];
    second.on('notification', (event) => notifications.push(event));
    // CON, so the client learns whether the new process took it (ACK) or refused it (Reset).
    await observers[0]?.notify({ payload: '21.25', contentFormat: 0, confirmable: true });
    expect(notifications).toHaveLength(1);
    expect(notifications[0]).toMatchObject({
      token: observation.token,
      observation: undefined,
      registration: { endpoint: 'restart-dev' },
    });
    expect(notifications[0]?.value).toMatchObject({
      composite: false,
      path: [3303, 0, 5700],
      node: { value: 21.25 },
    });

    // The restarted server still reaches the client, and can drop the resumed observation.
    expect(await second.read('restart-dev', '/3303/0/5700')).toMatchObject({ value: 20.5 });
    expect(await second.cancelObservation(observation.token)).toBe(true);
    const ended = new Promise((resolve) => observers[0]?.once('cancel', resolve));
    await observers[0]?.notify({ payload: '22', contentFormat: 0, confirmable: true }).catch(() => undefined);
    expect(await ended).toBe('reset');
    expect(notifications).toHaveLength(1);
  } finally {
    await first?.close();
    await second?.close();
    await client?.close();
  }
});
