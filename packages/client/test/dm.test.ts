import { once } from 'node:events';
import {
  ContentFormat,
  createCoreObjectRegistry,
  objectInstance,
  singleResource,
  multipleResource,
} from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode } from '@lwm2m/transport-coap';
import { createClient, TemperatureSensor, temperatureObject } from '../src/index.js';
import type { Lwm2mClient } from '../src/index.js';
import { MEMORY_SERVER_URI, memoryServer, text } from './fake-server.js';
import type { FakeServer } from './fake-server.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });

describe('device management over CoAP', () => {
  let client: Lwm2mClient;
  let server: FakeServer;
  let sensor: TemperatureSensor;
  let reboots: number;

  beforeEach(async () => {
    const memory = memoryServer();
    server = memory.server;
    sensor = new TemperatureSensor({ initial: 21.5 });
    reboots = 0;
    client = createClient({
      endpoint: 'dm-test',
      transport: memory.transport,
      servers: [{ uri: MEMORY_SERVER_URI, ssid: 1, lifetime: 300 }],
      device: { manufacturer: 'Acme', model: 'T1', serialNumber: 'SN1', onReboot: () => void reboots++ },
      objects: [temperatureObject([sensor])],
    });
    const registered = once(client, 'registered');
    await client.start();
    await registered;
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('reads a resource as text by default and in every single-value format on request', async () => {
    const plain = await server.request({ method: 'GET', path: '/3/0/0' });
    expect(plain.code).toBe(CoapCode.CONTENT);
    expect(plain.contentFormat).toBe(ContentFormat.TEXT);
    expect(text(plain)).toBe('Acme');
    for (const accept of [
      ContentFormat.CBOR,
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.TLV,
      ContentFormat.JSON,
      ContentFormat.LWM2M_CBOR,
    ]) {
      const response = await server.request({ method: 'GET', path: '/3/0/0', accept });
      expect(response.contentFormat).toBe(accept);
      const node = codec.decode(accept, response.payload, [3, 0, 0]);
      expect(node).toMatchObject({ kind: 'resource', id: 0, value: 'Acme' });
    }
  });

  it('reads an instance in every multi-value format, SenML CBOR by default (1.1)', async () => {
    const byDefault = await server.request({ method: 'GET', path: '/3303/0' });
    expect(byDefault.contentFormat).toBe(ContentFormat.SENML_CBOR);
    for (const accept of [
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.TLV,
      ContentFormat.JSON,
      ContentFormat.LWM2M_CBOR,
    ]) {
      const response = await server.request({ method: 'GET', path: '/3303/0', accept });
      expect(response.code).toBe(CoapCode.CONTENT);
      const node = codec.decode(accept, response.payload, [3303, 0]);
      expect(node.kind).toBe('objectInstance');
      if (node.kind !== 'objectInstance') return;
      expect(node.resources.get(5700)).toMatchObject({ value: 21.5 });
      expect(node.resources.get(5701)).toMatchObject({ value: 'Cel' });
      expect(node.resources.has(5605)).toBe(false); // executable: not read
    }
  });

  it('answers 4.06 when the Accept cannot carry the target, 4.04 for missing paths, 4.05 for disallowed operations', async () => {
    expect((await server.request({ method: 'GET', path: '/3/0', accept: ContentFormat.TEXT })).code).toBe(
      CoapCode.NOT_ACCEPTABLE,
    );
    expect((await server.request({ method: 'GET', path: '/3/0/0', accept: 9999 })).code).toBe(
      CoapCode.NOT_ACCEPTABLE,
    );
    expect((await server.request({ method: 'GET', path: '/3/1' })).code).toBe(CoapCode.NOT_FOUND);
    expect((await server.request({ method: 'GET', path: '/42' })).code).toBe(CoapCode.NOT_FOUND);
    expect((await server.request({ method: 'GET', path: '/3/0/999' })).code).toBe(CoapCode.NOT_FOUND);
    expect((await server.request({ method: 'GET', path: '/3/0/4' })).code).toBe(CoapCode.METHOD_NOT_ALLOWED);
    expect(
      (await server.request({ method: 'PUT', path: '/3/0/0', contentFormat: 0, payload: 'x' })).code,
    ).toBe(CoapCode.METHOD_NOT_ALLOWED);
    // Execute on a resource that is not executable (and not a multiple resource to add instances to).
    expect((await server.request({ method: 'POST', path: '/3/0/0', payload: '' })).code).toBe(
      CoapCode.METHOD_NOT_ALLOWED,
    );
    expect((await server.request({ method: 'DELETE', path: '/3/0' })).code).toBe(CoapCode.METHOD_NOT_ALLOWED);
    expect((await server.request({ method: 'GET', path: '/0/0' })).code).toBe(CoapCode.UNAUTHORIZED);
  });

  it('answers 4.00 for a value that does not fit the resource type and 4.15 for an unknown format', async () => {
    expect(
      (await server.request({ method: 'PUT', path: '/1/0/1', contentFormat: 0, payload: 'soon' })).code,
    ).toBe(CoapCode.BAD_REQUEST);
    expect(
      (await server.request({ method: 'PUT', path: '/1/0/1', contentFormat: 4242, payload: '1' })).code,
    ).toBe(CoapCode.UNSUPPORTED_CONTENT_FORMAT);
    // Nothing was written.
    expect(text(await server.request({ method: 'GET', path: '/1/0/1' }))).toBe('300');
  });

  it('writes a resource as text and emits a write event', async () => {
    const write = once(client, 'write');
    const response = await server.request({
      method: 'PUT',
      path: '/3/0/14',
      contentFormat: 0,
      payload: '+02:00',
    });
    expect(response.code).toBe(CoapCode.CHANGED);
    expect(await write).toEqual([{ ssid: 1, operation: 'write', paths: [[3, 0, 14]] }]);
    expect(text(await server.request({ method: 'GET', path: '/3/0/14' }))).toBe('+02:00');
  });

  it('replaces an instance on PUT and updates it on POST', async () => {
    await server.request({ method: 'PUT', path: '/3/0/15', contentFormat: 0, payload: 'Europe/Paris' });
    const partial = codec.encode(
      ContentFormat.TLV,
      objectInstance(0, [singleResource(14, 'string', '+01:00')]),
      [3, 0],
    );
    expect(
      (
        await server.request({
          method: 'POST',
          path: '/3/0',
          contentFormat: ContentFormat.TLV,
          payload: partial,
        })
      ).code,
    ).toBe(CoapCode.CHANGED);
    expect(text(await server.request({ method: 'GET', path: '/3/0/15' }))).toBe('Europe/Paris');
    const full = codec.encode(
      ContentFormat.SENML_JSON,
      objectInstance(0, [singleResource(14, 'string', '+03:00')]),
      [3, 0],
    );
    expect(
      (
        await server.request({
          method: 'PUT',
          path: '/3/0',
          contentFormat: ContentFormat.SENML_JSON,
          payload: full,
        })
      ).code,
    ).toBe(CoapCode.CHANGED);
    expect(text(await server.request({ method: 'GET', path: '/3/0/14' }))).toBe('+03:00');
    // The replacing write removed the writable resource it did not carry.
    expect((await server.request({ method: 'GET', path: '/3/0/15' })).code).toBe(CoapCode.NOT_FOUND);
    // A replace carrying a read-only resource is refused as a whole.
    const bad = codec.encode(
      ContentFormat.TLV,
      objectInstance(0, [singleResource(14, 'string', 'x'), singleResource(0, 'string', 'Evil')]),
      [3, 0],
    );
    expect(
      (await server.request({ method: 'PUT', path: '/3/0', contentFormat: ContentFormat.TLV, payload: bad }))
        .code,
    ).toBe(CoapCode.METHOD_NOT_ALLOWED);
    expect(text(await server.request({ method: 'GET', path: '/3/0/14' }))).toBe('+03:00');
  });

  it('executes Reboot through the hook and Reset Min/Max on the sensor', async () => {
    expect((await server.request({ method: 'POST', path: '/3/0/4' })).code).toBe(CoapCode.CHANGED);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reboots).toBe(1);
    sensor.setValue(30);
    sensor.setValue(25);
    expect(text(await server.request({ method: 'GET', path: '/3303/0/5602' }))).toBe('30');
    expect((await server.request({ method: 'POST', path: '/3303/0/5605' })).code).toBe(CoapCode.CHANGED);
    expect(text(await server.request({ method: 'GET', path: '/3303/0/5602' }))).toBe('25');
    expect(text(await server.request({ method: 'GET', path: '/3303/0/5601' }))).toBe('25');
  });

  it('creates and deletes Access Control instances, and tells the server in an Update', async () => {
    const instance = objectInstance(0, [
      singleResource(0, 'integer', 3303),
      singleResource(1, 'integer', 0),
      singleResource(3, 'integer', 1),
    ]);
    const payload = codec.encode(ContentFormat.SENML_CBOR, instance, [2, 0]);
    const update = server.next(
      (r) => r.method === 'POST' && r.path.startsWith('/rd/') && r.payload.includes('</2/0>'),
    );
    const created = await server.request({
      method: 'POST',
      path: '/2',
      contentFormat: ContentFormat.SENML_CBOR,
      payload,
    });
    expect(created.code).toBe(CoapCode.CREATED);
    expect(created.locationPath).toEqual(['2', '0']);
    await update;
    expect(text(await server.request({ method: 'GET', path: '/2/0/0' }))).toBe('3303');
    expect(
      (await server.request({ method: 'POST', path: '/2', contentFormat: ContentFormat.SENML_CBOR, payload }))
        .code,
    ).toBe(CoapCode.BAD_REQUEST);
    // Without a mandatory resource (3, the owner).
    const lacking = codec.encode(
      ContentFormat.SENML_CBOR,
      objectInstance(1, [singleResource(0, 'integer', 3)]),
      [2, 1],
    );
    expect(
      (
        await server.request({
          method: 'POST',
          path: '/2',
          contentFormat: ContentFormat.SENML_CBOR,
          payload: lacking,
        })
      ).code,
    ).toBe(CoapCode.BAD_REQUEST);
    expect((await server.request({ method: 'DELETE', path: '/2/0' })).code).toBe(CoapCode.DELETED);
    expect((await server.request({ method: 'GET', path: '/2/0' })).code).toBe(CoapCode.NOT_FOUND);
    expect((await server.request({ method: 'DELETE', path: '/2/0' })).code).toBe(CoapCode.NOT_FOUND);
  });

  it('treats an empty SenML pack on Create like an empty payload and refuses two instances', async () => {
    const empty = await server.request({
      method: 'POST',
      path: '/2',
      contentFormat: ContentFormat.SENML_CBOR,
      payload: new Uint8Array([0x80]),
    });
    expect(empty.code).toBe(CoapCode.BAD_REQUEST);
    expect(text(empty)).toMatch(/mandatory/);
    const two = codec.encode(
      ContentFormat.SENML_CBOR,
      {
        kind: 'object',
        id: 2,
        instances: new Map(
          [0, 1].map((i) => [
            i,
            objectInstance(i, [
              singleResource(0, 'integer', 3),
              singleResource(1, 'integer', 0),
              singleResource(3, 'integer', 1),
            ]),
          ]),
        ),
      },
      [2],
    );
    const refused = await server.request({
      method: 'POST',
      path: '/2',
      contentFormat: ContentFormat.SENML_CBOR,
      payload: two,
    });
    expect(refused.code).toBe(CoapCode.BAD_REQUEST);
    expect(text(refused)).toMatch(/more than one instance/);
  });

  it('writes attributes and shows them in Discover', async () => {
    expect(
      (await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['pmin=10', 'pmax=60', 'gt=30'] }))
        .code,
    ).toBe(CoapCode.CHANGED);
    expect((await server.request({ method: 'PUT', path: '/3303', query: ['pmax=120'] })).code).toBe(
      CoapCode.CHANGED,
    );
    expect((await server.request({ method: 'PUT', path: '/3303/0/5701', query: ['gt=3'] })).code).toBe(
      CoapCode.BAD_REQUEST,
    );
    expect((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['lt=40'] })).code).toBe(
      CoapCode.BAD_REQUEST,
    );
    expect((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['edge=1'] })).code).toBe(
      CoapCode.BAD_REQUEST,
    ); // 1.2 only
    const object = await server.request({ method: 'GET', path: '/3303', accept: ContentFormat.LINK });
    expect(text(object)).toBe(
      '</3303>;ver=1.1;pmax=120,</3303/0>,</3303/0/5601>,</3303/0/5602>,</3303/0/5603>,</3303/0/5604>,</3303/0/5605>,</3303/0/5700>;pmin=10;pmax=60;gt=30,</3303/0/5701>',
    );
    const resource = await server.request({
      method: 'GET',
      path: '/3303/0/5701',
      accept: ContentFormat.LINK,
    });
    expect(text(resource)).toBe('</3303/0/5701>;pmax=120');
    const device = await server.request({ method: 'GET', path: '/3/0/11', accept: ContentFormat.LINK });
    expect(text(device)).toBe('</3/0/11>;dim=1');
  });

  it('reads and writes composites (FETCH / iPATCH)', async () => {
    const request = codec.encodePaths(ContentFormat.SENML_CBOR, [
      [3, 0, 0],
      [3303, 0, 5700],
      [3, 0, 21],
    ]);
    const response = await server.request({
      method: 'FETCH',
      path: '/',
      contentFormat: ContentFormat.SENML_CBOR,
      accept: ContentFormat.SENML_JSON,
      payload: request,
    });
    expect(response.code).toBe(CoapCode.CONTENT);
    expect(response.contentFormat).toBe(ContentFormat.SENML_JSON);
    const nodes = codec.decodeComposite(ContentFormat.SENML_JSON, response.payload, [
      [3, 0, 0],
      [3303, 0, 5700],
    ]);
    expect(nodes.get('/3/0/0')).toMatchObject({ value: 'Acme' });
    expect(nodes.get('/3303/0/5700')).toMatchObject({ value: 21.5 });
    expect(nodes.has('/3/0/21')).toBe(false); // absent paths are left out
    const write = codec.encodeComposite(
      ContentFormat.SENML_CBOR,
      new Map([
        ['/3/0/14', singleResource(14, 'string', '-05:00')],
        ['/1/0/2', singleResource(2, 'integer', 5)],
      ]),
    );
    expect(
      (
        await server.request({
          method: 'iPATCH',
          path: '/',
          contentFormat: ContentFormat.SENML_CBOR,
          payload: write,
        })
      ).code,
    ).toBe(CoapCode.CHANGED);
    expect(text(await server.request({ method: 'GET', path: '/3/0/14' }))).toBe('-05:00');
    expect(text(await server.request({ method: 'GET', path: '/1/0/2' }))).toBe('5');
  });

  it('writes a multiple-instance resource: replace on PUT, merge on POST and per instance', async () => {
    const replace = codec.encode(ContentFormat.TLV, multipleResource(7, 'integer', [[0, 3800]]), [3, 0, 7]);
    // 3/0/7 is read-only: refused.
    expect(
      (
        await server.request({
          method: 'PUT',
          path: '/3/0/7',
          contentFormat: ContentFormat.TLV,
          payload: replace,
        })
      ).code,
    ).toBe(CoapCode.METHOD_NOT_ALLOWED);
    const acl = objectInstance(0, [
      singleResource(0, 'integer', 3),
      singleResource(1, 'integer', 0),
      multipleResource(2, 'integer', [[1, 1]]),
      singleResource(3, 'integer', 1),
    ]);
    await server.request({
      method: 'POST',
      path: '/2',
      contentFormat: ContentFormat.TLV,
      payload: codec.encode(ContentFormat.TLV, acl, [2, 0]),
    });
    const more = codec.encode(ContentFormat.TLV, multipleResource(2, 'integer', [[2, 15]]), [2, 0, 2]);
    await server.request({ method: 'POST', path: '/2/0/2', contentFormat: ContentFormat.TLV, payload: more });
    await server.request({
      method: 'PUT',
      path: '/2/0/2/3',
      contentFormat: ContentFormat.TEXT,
      payload: '7',
    });
    const merged = codec.decode(
      ContentFormat.TLV,
      (await server.request({ method: 'GET', path: '/2/0/2', accept: ContentFormat.TLV })).payload,
      [2, 0, 2],
    );
    expect(merged).toMatchObject({
      kind: 'multipleResource',
      instances: new Map([
        [1, 1],
        [2, 15],
        [3, 7],
      ]),
    });
    await server.request({ method: 'PUT', path: '/2/0/2', contentFormat: ContentFormat.TLV, payload: more });
    const replaced = codec.decode(
      ContentFormat.TLV,
      (await server.request({ method: 'GET', path: '/2/0/2', accept: ContentFormat.TLV })).payload,
      [2, 0, 2],
    );
    expect(replaced).toMatchObject({ kind: 'multipleResource', instances: new Map([[2, 15]]) });
    expect(
      (
        await server.request({
          method: 'PUT',
          path: '/2/0/2/4',
          contentFormat: ContentFormat.TEXT,
          payload: '99',
        })
      ).code,
    ).toBe(CoapCode.BAD_REQUEST);
  });

  it('sends notifications of an observed resource when it changes', async () => {
    const observation = await server.endpoint.observe(
      { peer: server.peer!, method: 'GET', path: '/3303/0/5700' },
      { timeout: 5000 },
    );
    const iterator = observation[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(Buffer.from(first.value.payload).toString()).toBe('21.5');
    sensor.setValue(22.25);
    const second = await iterator.next();
    expect(Buffer.from(second.value.payload).toString()).toBe('22.25');
    await iterator.return?.();
  });
});
