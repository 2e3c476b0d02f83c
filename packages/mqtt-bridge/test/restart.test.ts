import { TemperatureSensor, temperatureObject } from '@lwm2m/client';
import type { Lwm2mServer } from '@lwm2m/server';
import type { MqttBridge } from '../src/index.js';
import {
  Caller,
  eventually,
  startBridge,
  startDevice,
  startServer,
  uniqueId,
  uniquePrefix,
} from './harness.js';
import type { Received, TestDevice } from './harness.js';
import { PrivateBroker } from './private-broker.js';

/** No lost work: a bridge that was away, and a broker restarted in the middle of traffic. */
describe('reconnection with a private Mosquitto', () => {
  let broker: PrivateBroker | undefined;
  let server: Lwm2mServer | undefined;
  let device: TestDevice | undefined;
  const bridges: MqttBridge[] = [];
  const callers: Caller[] = [];
  const prefix = uniquePrefix();
  const ep = uniqueId('dev');
  let sensor: TemperatureSensor;

  async function setup(persistent: boolean): Promise<void> {
    broker = await PrivateBroker.create(persistent);
    server = await startServer();
    sensor = new TemperatureSensor({ initial: 20 });
    device = await startDevice(server, ep, { objects: [temperatureObject([sensor])] });
  }

  function bridge(clientId: string): MqttBridge {
    const b = startBridge(
      server!,
      prefix,
      { mqtt: { url: broker!.url, options: { clientId, reconnectPeriod: 100 } } },
      broker!.url,
    );
    bridges.push(b);
    return b;
  }

  async function caller(options: Parameters<typeof Caller.connect>[1] = {}): Promise<Caller> {
    const c = await Caller.connect(
      [`${prefix}/responses/#`, `${prefix}/${ep}/sensor/#`],
      options,
      broker!.url,
    );
    callers.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of callers.splice(0)) await c.close();
    for (const b of bridges.splice(0)) await b.close();
    await device?.client.close();
    await server?.close();
    await broker?.destroy();
    broker = undefined;
  });

  it('answers a request published while the bridge was away (persistent session)', async () => {
    await setup(false);
    const clientId = uniqueId('bridge');
    const first = bridge(clientId);
    await first.start();
    await first.close();
    const c = await caller();
    const answer = c.waitFor((m) => m.json['id'] === 'while-away', 5000);
    await c.publish(`${prefix}/requests/${ep}/GET/3303/0/5700`, { id: 'while-away' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(c.messages).toHaveLength(0);
    await bridge(clientId).start();
    expect((await answer).json).toMatchObject({ code: '2.05', value: 20 });
  });

  it('loses no request and no notification across a broker restart, and keeps one observation', async () => {
    await setup(true);
    const b = bridge(uniqueId('bridge'));
    await b.start();
    const c = await caller({
      clean: false,
      clientId: uniqueId('caller'),
      properties: { sessionExpiryInterval: 600 },
    });
    expect((await c.request(prefix, `${ep}/OBSERVE/3303/0/5700`)).json).toMatchObject({
      code: '2.05',
      value: 20,
    });

    // Requests every 20 ms; the broker goes away after 200 ms and is back 400 ms later.
    const ids: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < 40; i++) {
        const id = `t${i}`;
        ids.push(id);
        void c.publish(`${prefix}/requests/${ep}/GET/3/0/0`, { id }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await broker!.stop();
    sensor.setValue(33.5); // notified while the broker is down
    await new Promise((resolve) => setTimeout(resolve, 400));
    await broker!.start();
    await sending;

    const answered = (id: string) => (m: Received) =>
      m.topic === `${prefix}/responses/${ep}/GET/3/0/0` && m.json['id'] === id;
    for (const id of ids)
      expect((await c.waitFor(answered(id), 15_000, `answer ${id}`)).json).toMatchObject({
        code: '2.05',
        value: 'Acme',
      });
    await c.waitFor(
      (m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5700` && m.json['value'] === 33.5,
      10_000,
    );

    expect(server!.observations(ep)).toHaveLength(1);
    const again = await c.request(prefix, `${ep}/OBSERVE/3303/0/5700`);
    expect(again.json).toMatchObject({ code: '2.05', value: 33.5, reused: true });
    sensor.setValue(34);
    await c.waitFor((m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5700` && m.json['value'] === 34);
    expect(server!.observations(ep)).toHaveLength(1);
    expect(b.observationCount(ep)).toBe(1);
  }, 30_000);

  it('subscribes again after a restart that lost every session', async () => {
    await setup(false);
    const b = bridge(uniqueId('bridge'));
    await b.start();
    await broker!.stop();
    await broker!.start();
    await eventually(() => expect(b.client.connected).toBe(true), 5000);
    const c = await caller();
    await eventually(async () => {
      const answer = await c.request(prefix, `${ep}/GET/3/0/0`, {}, 500);
      expect(answer.json).toMatchObject({ code: '2.05', value: 'Acme' });
    }, 8000);
  }, 20_000);
});
