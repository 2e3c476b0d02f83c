import { createUdpSocket } from '@lwm2m/transport-coap';
import { createServer } from '../src/server.js';
import type { Lwm2mServer } from '../src/server.js';
import { eventually } from './harness.js';

type Callback<T = unknown> = (error: Error | null | undefined, result?: T) => void;
interface NodeLibClient {
  init(config: unknown): void;
  register(
    host: string,
    port: number,
    url: string | null,
    endpoint: string,
    callback: Callback<{ location: string; serverInfo: unknown }>,
  ): void;
  unregister(deviceInformation: unknown, callback: Callback): void;
  setHandler(
    serverInfo: unknown,
    kind: 'write' | 'execute' | 'read',
    handler: (...args: unknown[]) => void,
  ): void;
  cancellAllObservers(callback: Callback): void;
  registry: {
    create(uri: string, callback: Callback): void;
    setResource(uri: string, resource: string | number, value: unknown, callback: Callback): void;
    getResource?(uri: string, resource: string, callback: Callback): void;
    reset(callback: Callback): void;
  };
}

// lwm2m-node-lib 1.4.0 (an independent LwM2M 1.0 implementation, text format, NoSec): a CommonJS
// package without types; it prints mongoose warnings on load.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest loads tests as CommonJS
const nodeLib = require('lwm2m-node-lib') as { client: NodeLibClient };
const client = nodeLib.client;

function call<T>(fn: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    fn((error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

describe('lwm2m-node-lib client as a peer', () => {
  let server: Lwm2mServer;
  let device: { location: string; serverInfo: unknown } | undefined;

  beforeAll(async () => {
    server = createServer({ sockets: { coap: await createUdpSocket({ address: '127.0.0.1', port: 0 }) } });
    await server.listen();
    client.init({
      client: {
        lifetime: '300',
        version: '1.0',
        logLevel: 'FATAL',
        observe: { period: 200 },
        ipProtocol: 'udp4',
        serverProtocol: 'udp4',
      },
    });
    await call((cb) => client.registry.reset(cb));
    await call((cb) => client.registry.create('/3/0', cb));
    await call((cb) => client.registry.setResource('/3/0', 0, 'ACME', cb));
    await call((cb) => client.registry.setResource('/3/0', 9, '87', cb));
  });

  afterAll(async () => {
    if (device !== undefined) await call((cb) => client.unregister(device, cb)).catch(() => undefined);
    await call((cb) => client.cancellAllObservers(cb)).catch(() => undefined);
    await server.close();
  });

  test('registers, then the server reads, writes, executes and observes', async () => {
    const registered = new Promise((resolve) => server.once('registered', resolve));
    const info = await call<{ location: string; serverInfo: unknown }>((cb) =>
      client.register('127.0.0.1', server.address().port, null, 'node-lib-dev', cb),
    );
    device = info;
    await registered;
    const registration = await server.getRegistration('node-lib-dev');
    expect(registration).toMatchObject({ version: '1.0', lifetime: 300, binding: 'U' });
    expect(info.location).toBe(`rd/${registration?.id}`);

    expect(await server.read('node-lib-dev', '/3/0/0')).toMatchObject({ kind: 'resource', value: 'ACME' });
    expect(await server.read('node-lib-dev', '/3/0/9')).toMatchObject({ value: 87 });

    const written: unknown[] = [];
    client.setHandler(info.serverInfo, 'write', (objectType, objectId, resourceId, value, callback) => {
      written.push([objectType, objectId, resourceId, value]);
      (callback as Callback)(null);
    });
    await server.write('node-lib-dev', '/3/0/14', '+02:00');
    expect(written).toEqual([['3', '0', '14', '+02:00']]);

    const executed: unknown[] = [];
    client.setHandler(info.serverInfo, 'execute', (objectType, objectId, resourceId, args, callback) => {
      executed.push([objectType, objectId, resourceId, args]);
      (callback as Callback)(null);
    });
    await server.execute('node-lib-dev', '/3/0/4', "0='now'");
    expect(executed).toEqual([['3', '0', '4', "0='now'"]]);

    const observation = await server.observe('node-lib-dev', '/3/0/9');
    expect(observation.initial).toMatchObject({ node: { value: 87 } });
    const seen: unknown[] = [];
    observation.on('notification', (value) =>
      seen.push(value.composite ? undefined : (value.node as { value: unknown }).value),
    );
    await call((cb) => client.registry.setResource('/3/0', 9, '42', cb));
    await eventually(() => expect(seen).toContain(42), 5000);
    await observation.cancel({ active: false });
  });
});
