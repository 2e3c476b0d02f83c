import { TemperatureSensor, temperatureObject } from '@lwm2m/client';
import type { Lwm2mServer } from '@lwm2m/server';
import type { MqttBridge } from '../src/index.js';
import {
  Caller,
  clearRetained,
  startBridge,
  startDevice,
  startServer,
  uniqueId,
  uniquePrefix,
} from './harness.js';
import type { TestDevice } from './harness.js';

/** Every method through Mosquitto, the bridge, a real server and a real client over UDP. */
describe('request methods round trip', () => {
  let server: Lwm2mServer;
  let device: TestDevice;
  let bridge: MqttBridge;
  let caller: Caller;
  const prefix = uniquePrefix();
  const ep = uniqueId('dev');
  const sensor = new TemperatureSensor({ initial: 21.5 });

  beforeAll(async () => {
    server = await startServer();
    bridge = startBridge(server, prefix);
    await bridge.start();
    device = await startDevice(server, ep, {
      objects: [{ ...temperatureObject([sensor]), create: () => new TemperatureSensor({ initial: 0 }) }],
    });
    caller = await Caller.connect([`${prefix}/responses/#`, `${prefix}/${ep}/sensor/#`]);
  });

  afterAll(async () => {
    await caller?.close();
    await bridge?.close();
    await device?.client.close();
    await server?.close();
    await clearRetained(prefix, [`${prefix}/${ep}/presence`]);
  });

  it('GET reads a resource, an instance, and honours the format', async () => {
    const single = await caller.request(prefix, `${ep}/GET/3/0/0`, { id: 'r1' });
    expect(single.json).toMatchObject({
      id: 'r1',
      code: '2.05',
      endpoint: ep,
      method: 'GET',
      path: '/3/0/0',
      value: 'Acme',
    });
    expect(typeof single.json['timestamp']).toBe('number');
    const instance = await caller.request(prefix, `${ep}/GET/3/0`, { id: 7 });
    expect(instance.json).toMatchObject({
      id: 7,
      code: '2.05',
      value: { '0': 'Acme', '1': 'T1', '2': 'SN-1' },
    });
    const senml = await caller.request(prefix, `${ep}/GET/3303/0/5700`, { format: 'senml-json' });
    expect(senml.json).toMatchObject({ code: '2.05', value: 21.5 });
  });

  it('PUT writes, POST executes and partially updates', async () => {
    expect((await caller.request(prefix, `${ep}/PUT/3303/0/5750`, { value: 'boiler' })).json).toMatchObject({
      code: '2.04',
    });
    expect((await caller.request(prefix, `${ep}/GET/3303/0/5750`)).json).toMatchObject({ value: 'boiler' });
    expect((await caller.request(prefix, `${ep}/POST/3303/0/5605`)).json).toMatchObject({ code: '2.04' });
    expect(
      (await caller.request(prefix, `${ep}/POST/3303/0`, { value: { '5750': 'kitchen' } })).json,
    ).toMatchObject({ code: '2.04' });
    expect((await caller.request(prefix, `${ep}/GET/3303/0/5750`)).json).toMatchObject({ value: 'kitchen' });
    // The device's own refusal comes back with its code: 5700 is read-only.
    const refused = await caller.request(prefix, `${ep}/PUT/3303/0/5700`, { value: 3 });
    expect(refused.json).toMatchObject({ code: '4.05', error: { code: 'ERR_REQUEST_FAILED' } });
  });

  it('CREATE makes an instance (given or the lowest free id) and DELETE removes it', async () => {
    const given = await caller.request(prefix, `${ep}/CREATE/3303`, {
      instance: 5,
      value: { '5750': 'new' },
    });
    expect(given.json).toMatchObject({ code: '2.01', location: '/3303/5' });
    expect((await caller.request(prefix, `${ep}/GET/3303/5/5750`)).json).toMatchObject({ value: 'new' });
    const picked = await caller.request(prefix, `${ep}/CREATE/3303`, { value: { '5750': 'auto' } });
    expect(picked.json).toMatchObject({ code: '2.01', location: '/3303/1' });
    expect((await caller.request(prefix, `${ep}/DELETE/3303/5`)).json).toMatchObject({ code: '2.02' });
    expect((await caller.request(prefix, `${ep}/DELETE/3303/1`)).json).toMatchObject({ code: '2.02' });
    expect((await caller.request(prefix, `${ep}/GET/3303/5`)).json).toMatchObject({ code: '4.04' });
  });

  it('DISCOVER lists links and WRITE-ATTRIBUTES sets what Discover then shows', async () => {
    const set = await caller.request(prefix, `${ep}/WRITE-ATTRIBUTES/3303/0/5602`, {
      attributes: { pmin: 2, pmax: 60 },
    });
    expect(set.json).toMatchObject({ code: '2.04' });
    const discover = await caller.request(prefix, `${ep}/DISCOVER/3303/0`);
    expect(discover.json['code']).toBe('2.05');
    const links = discover.json['links'] as { path: string; attributes?: Record<string, number> }[];
    expect(links.map((l) => l.path)).toEqual(
      expect.arrayContaining(['/3303/0', '/3303/0/5700', '/3303/0/5602']),
    );
    expect(links.find((l) => l.path === '/3303/0/5602')?.attributes).toEqual({ pmin: 2, pmax: 60 });
    const unset = await caller.request(prefix, `${ep}/WRITE-ATTRIBUTES/3303/0/5602`, {
      attributes: { pmin: null },
    });
    expect(unset.json).toMatchObject({ code: '2.04' });
    const after = (await caller.request(prefix, `${ep}/DISCOVER/3303/0/5602`)).json['links'] as {
      path: string;
      attributes?: Record<string, number>;
    }[];
    expect(after.find((l) => l.path === '/3303/0/5602')?.attributes).toEqual({ pmax: 60 });
  });

  it('READ-COMPOSITE and WRITE-COMPOSITE take their paths in the body', async () => {
    const read = await caller.request(prefix, `${ep}/READ-COMPOSITE`, { paths: ['/3/0/0', '/3303/0/5701'] });
    expect(read.json).toMatchObject({ code: '2.05', values: { '/3/0/0': 'Acme', '/3303/0/5701': 'Cel' } });
    const write = await caller.request(prefix, `${ep}/WRITE-COMPOSITE`, {
      values: { '/3303/0/5750': 'attic', '/3/0/14': '+01:00' },
    });
    expect(write.json).toMatchObject({ code: '2.04' });
    const check = await caller.request(prefix, `${ep}/READ-COMPOSITE`, {
      paths: ['/3303/0/5750', '/3/0/14'],
      format: 'senml-json',
    });
    expect(check.json).toMatchObject({ values: { '/3303/0/5750': 'attic', '/3/0/14': '+01:00' } });
  });

  it('OBSERVE answers the value, publishes notifications on the sensor topic, is not duplicated, and CANCEL-OBSERVE stops it', async () => {
    const first = await caller.request(prefix, `${ep}/OBSERVE/3303/0/5700`);
    expect(first.json).toMatchObject({ code: '2.05', value: sensor.value, observing: true });
    sensor.setValue(30.25);
    const note = await caller.waitFor(
      (m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5700` && m.json['value'] === 30.25,
    );
    expect(note.json).toMatchObject({ endpoint: ep, path: '/3303/0/5700', source: 'notification' });
    const again = await caller.request(prefix, `${ep}/OBSERVE/3303/0/5700`);
    expect(again.json).toMatchObject({ code: '2.05', value: 30.25, reused: true });
    expect(server.observations(ep)).toHaveLength(1);
    expect(bridge.observationCount(ep)).toBe(1);
    expect((await caller.request(prefix, `${ep}/CANCEL-OBSERVE/3303/0/5700`)).json).toMatchObject({
      code: '2.05',
      observing: false,
    });
    expect(server.observations(ep)).toHaveLength(0);
    const none = await caller.request(prefix, `${ep}/CANCEL-OBSERVE/3303/0/5700`);
    expect(none.json).toMatchObject({ code: '4.04', error: { code: 'ERR_NOT_OBSERVED' } });
  });

  it('OBSERVE-COMPOSITE publishes each path and CANCEL-OBSERVE-COMPOSITE stops it', async () => {
    const first = await caller.request(prefix, `${ep}/OBSERVE-COMPOSITE`, {
      paths: ['/3303/0/5700', '/3303/0/5701'],
    });
    expect(first.json).toMatchObject({
      code: '2.05',
      values: { '/3303/0/5700': sensor.value, '/3303/0/5701': 'Cel' },
      observing: true,
    });
    sensor.setValue(12.5);
    await caller.waitFor((m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5700` && m.json['value'] === 12.5);
    await caller.waitFor(
      (m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5701` && m.json['value'] === 'Cel',
    );
    const cancel = await caller.request(prefix, `${ep}/CANCEL-OBSERVE-COMPOSITE`, {
      paths: ['/3303/0/5700', '/3303/0/5701'],
    });
    expect(cancel.json).toMatchObject({ code: '2.05' });
    expect(server.observations(ep)).toHaveLength(0);
  });

  it('publishes Send data on sensor topics with the device time', async () => {
    await device.client.send(['/3303/0/5701']);
    const sent = await caller.waitFor(
      (m) => m.topic === `${prefix}/${ep}/sensor/3303/0/5701` && m.json['source'] === 'send',
    );
    expect(sent.json).toMatchObject({ endpoint: ep, value: 'Cel' });
  });

  it('MQTT 5: answers on the response topic with the correlation data', async () => {
    const responseTopic = `${prefix}/my-inbox/${uniqueId('x')}`;
    await caller.client.subscribeAsync(responseTopic, { qos: 1 });
    const correlationData = Buffer.from([0, 1, 2, 250]);
    const answer = caller.waitFor((m) => m.topic === responseTopic);
    await caller.publish(
      `${prefix}/requests/${ep}/GET/3/0/1`,
      {},
      { qos: 1, properties: { responseTopic, correlationData } },
    );
    const received = await answer;
    expect(received.json).toMatchObject({ code: '2.05', value: 'T1' });
    expect(received.packet.properties?.correlationData).toEqual(correlationData);
    expect(received.packet.properties?.contentType).toBe('application/json');
    expect(caller.messages.some((m) => m.topic === `${prefix}/responses/${ep}/GET/3/0/1`)).toBe(false);
  });

  it('keeps 1000 concurrent requests apart by id', async () => {
    const paths = ['/3/0/0', '/3/0/1', '/3/0/2', '/3303/0/5701'];
    const expected: Record<string, string> = {
      '/3/0/0': 'Acme',
      '/3/0/1': 'T1',
      '/3/0/2': 'SN-1',
      '/3303/0/5701': 'Cel',
    };
    const requests = Array.from({ length: 1000 }, (_, i) => {
      const path = paths[i % paths.length] as string;
      return caller
        .request(prefix, `${ep}/GET${path}`, { id: `c${i}` }, 30_000)
        .then((r) => ({ i, path, r }));
    });
    const results = await Promise.all(requests);
    for (const { i, path, r } of results) {
      expect(r.json['id']).toBe(`c${i}`);
      expect(r.json['value']).toBe(expected[path]);
    }
  }, 40_000);
});
