import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';
import type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createServer } from '@lwm2m/server';
import type { Lwm2mServer, ServerOptions } from '@lwm2m/server';
import { createClient, TemperatureSensor, temperatureObject } from '@lwm2m/client';
import type { ClientOptions, Lwm2mClient } from '@lwm2m/client';
import { createMqttBridge } from '../src/index.js';
import type { MqttBridge, MqttBridgeOptions } from '../src/index.js';

export const BROKER_URL = 'mqtt://127.0.0.1:1883';

/** A topic prefix no other test (or run) uses. */
export function uniquePrefix(): string {
  return `lwm2m-test/${randomBytes(5).toString('hex')}`;
}

export function uniqueId(name: string): string {
  return `${name}-${randomBytes(5).toString('hex')}`;
}

export async function startServer(options: Omit<ServerOptions, 'sockets'> = {}): Promise<Lwm2mServer> {
  const server = createServer({
    ...options,
    sockets: { coap: await createUdpSocket({ address: '127.0.0.1', port: 0 }) },
  });
  await server.listen();
  return server;
}

export interface TestDevice {
  readonly client: Lwm2mClient;
  readonly sensor: TemperatureSensor;
}

/** A real @lwm2m/client over UDP on loopback, registered with `server`. */
export async function startDevice(
  server: Lwm2mServer,
  endpoint: string,
  options: Partial<ClientOptions> = {},
): Promise<TestDevice> {
  const sensor = new TemperatureSensor({ initial: 21.5 });
  const client = createClient({
    endpoint,
    transport: { connect: () => createUdpSocket({ address: '127.0.0.1', port: 0 }) },
    servers: [{ uri: `coap://127.0.0.1:${server.address().port}`, ssid: 1, lifetime: 300 }],
    device: { manufacturer: 'Acme', model: 'T1', serialNumber: 'SN-1' },
    objects: [temperatureObject([sensor])],
    ...options,
  });
  const registered = once(server, 'registered');
  await client.start();
  await registered;
  return { client, sensor };
}

/**
 * A bridge on the shared broker (or `url`). On the shared broker its session ends with the
 * connection, so test runs leave no sessions behind; the restart tests keep the defaults.
 */
export function startBridge(
  server: Lwm2mServer,
  prefix: string,
  options: Partial<MqttBridgeOptions> = {},
  url = BROKER_URL,
): MqttBridge {
  const shared = url === BROKER_URL ? { properties: { sessionExpiryInterval: 0 } } : {};
  return createMqttBridge({
    server,
    prefix,
    mqtt: { url, options: { clientId: uniqueId('bridge'), reconnectPeriod: 100, ...shared } },
    ...options,
  });
}

export interface Received {
  readonly topic: string;
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly packet: IPublishPacket;
}

/** An MQTT client on the other side: publishes requests, collects what arrives. */
export class Caller {
  readonly messages: Received[] = [];
  readonly #waiters: { match: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = {};
      }
      const message = { topic, text, json, packet };
      this.messages.push(message);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const waiter = this.#waiters[i]!;
        if (waiter.match(message)) {
          this.#waiters.splice(i, 1);
          waiter.resolve(message);
        }
      }
    });
  }

  static async connect(
    subscriptions: string[],
    options: IClientOptions = {},
    url = BROKER_URL,
  ): Promise<Caller> {
    const client = await connectAsync(url, {
      protocolVersion: 5,
      clientId: uniqueId('caller'),
      reconnectPeriod: 100,
      ...options,
    });
    client.on('error', () => undefined);
    const caller = new Caller(client);
    if (subscriptions.length > 0) await client.subscribeAsync(subscriptions, { qos: 1 });
    return caller;
  }

  /** The first message (already received or to come) that matches, or a rejection after `ms`. */
  waitFor(match: (m: Received) => boolean, ms = 5000, what = 'message'): Promise<Received> {
    const found = this.messages.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: Received) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(
          new Error(
            `no ${what} within ${ms} ms; got ${this.messages.map((m) => `${m.topic} ${m.text}`).join('\n')}`,
          ),
        );
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  async publish(topic: string, body: unknown, options: IClientPublishOptions = { qos: 1 }): Promise<void> {
    await this.client.publishAsync(
      topic,
      typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      options,
    );
  }

  /** Publishes a request with an id and waits for the response carrying it. */
  async request(
    prefix: string,
    remainder: string,
    body: Record<string, unknown> = {},
    ms = 5000,
  ): Promise<Received> {
    const id = body['id'] ?? uniqueId('req');
    const response = this.waitFor(
      (m) => m.topic === `${prefix}/responses/${remainder}` && m.json['id'] === id,
      ms,
      `response to ${remainder}`,
    );
    await this.publish(`${prefix}/requests/${remainder}`, { ...body, id });
    return response;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/** Removes retained messages a test left on the shared broker under its prefix. */
export async function clearRetained(prefix: string, topics: string[], url = BROKER_URL): Promise<void> {
  const client = await connectAsync(url, { clientId: uniqueId('cleaner'), reconnectPeriod: 0 });
  for (const topic of [`${prefix}/bridge/status`, ...topics])
    await client.publishAsync(topic, '', { qos: 1, retain: true });
  await client.endAsync();
}

export async function eventually(check: () => void | Promise<void>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
