import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createClient, TemperatureSensor, temperatureObject } from '../src/index.js';
import type { Lwm2mClient } from '../src/index.js';
import { udpTransport } from './peers.js';

/* eslint-disable @typescript-eslint/no-require-imports */
interface NodeLibServer {
  start(config: object, callback: (error: Error | null, info: unknown) => void): void;
  stop(info: unknown, callback: (error?: Error | null) => void): void;
  getDevice(
    name: string,
    callback: (
      error: Error | null,
      device: { id: number; name: string; lifetime: string; path: string },
    ) => void,
  ): void;
  read(
    id: number,
    o: number,
    i: number,
    r: number,
    callback: (error: Error | null, value: string) => void,
  ): void;
  write(
    id: number,
    o: number,
    i: number,
    r: number,
    value: string,
    callback: (error: Error | null) => void,
  ): void;
  observe(
    id: number,
    o: number,
    i: number,
    r: number,
    handler: (value: string) => void,
    callback: (error: Error | null, value: string) => void,
  ): void;
  cleanObservers(callback: () => void): void;
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function call<T>(fn: (callback: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

/** lwm2m-node-lib's LwM2M 1.0 server as an independent peer: register, read, write, observe. */
describe('client against the lwm2m-node-lib server', () => {
  let lib: NodeLibServer;
  let info: unknown;
  let client: Lwm2mClient;
  let sensor: TemperatureSensor;

  beforeAll(async () => {
    lib = require('lwm2m-node-lib').server as NodeLibServer;
    const port = await freeUdpPort();
    info = await call((cb) =>
      lib.start(
        {
          port,
          ipProtocol: 'udp4',
          serverProtocol: 'udp4',
          types: [],
          defaultType: 'Device',
          writeFormat: 'text/plain',
          logLevel: 'FATAL',
        },
        cb,
      ),
    );
    sensor = new TemperatureSensor({ initial: 18 });
    client = createClient({
      endpoint: 'node-lib-test',
      version: '1.0',
      transport: udpTransport,
      servers: [{ uri: `coap://127.0.0.1:${port}`, ssid: 1, lifetime: 120 }],
      device: { manufacturer: 'Acme', model: 'T1' },
      objects: [temperatureObject([sensor])],
    });
    const registered = once(client, 'registered');
    await client.start();
    await registered;
  });

  afterAll(async () => {
    await client?.close();
    await new Promise<void>((resolve) => lib.cleanObservers(() => resolve()));
    await new Promise<void>((resolve) => lib.stop(info, () => resolve()));
  });

  it('is registered with its endpoint name and lifetime', async () => {
    const device = await call<{ id: number; name: string; lifetime: string }>((cb) =>
      lib.getDevice('node-lib-test', cb),
    );
    expect(device.name).toBe('node-lib-test');
    expect(String(device.lifetime)).toBe('120');
  });

  it('answers reads and writes', async () => {
    const device = await call<{ id: number }>((cb) => lib.getDevice('node-lib-test', cb));
    expect(await call<string>((cb) => lib.read(device.id, 3, 0, 0, cb))).toBe('Acme');
    await call<void>((cb) => lib.write(device.id, 3, 0, 14, '+05:30', (error) => cb(error, undefined)));
    expect(await call<string>((cb) => lib.read(device.id, 3, 0, 14, cb))).toBe('+05:30');
  });

  it('sends notifications to its observation', async () => {
    const device = await call<{ id: number }>((cb) => lib.getDevice('node-lib-test', cb));
    const values: string[] = [];
    const next = new Promise<void>((resolve) => {
      const initial = call<string>((cb) =>
        lib.observe(
          device.id,
          3303,
          0,
          5700,
          (value) => {
            values.push(String(value));
            resolve();
          },
          cb,
        ),
      );
      void initial.then((value) => {
        values.push(`initial:${value}`);
        sensor.setValue(18.5);
      });
    });
    await next;
    expect(values).toEqual(['initial:18', '18.5']);
  });
});
