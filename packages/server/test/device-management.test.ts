import {
  ContentFormat,
  createCoreObjectRegistry,
  isLwm2mError,
  multipleResource,
  objectInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import type { IncomingRequest, OutgoingResponse } from '@lwm2m/transport-coap';
import { ClientNotRegisteredError, RequestFailedError } from '../src/errors.js';
import { createServer } from '../src/server.js';
import { createHarness, eventually } from './harness.js';
import type { Harness } from './harness.js';

const codec = createCodec({ registry: createCoreObjectRegistry() });
const DEVICE = objectInstance(0, [
  singleResource(0, 'string', 'ACME'),
  singleResource(1, 'string', 'Model 7'),
  multipleResource(6, 'integer', [
    [0, 1],
    [1, 5],
  ]),
  singleResource(9, 'integer', 87),
]);

interface Seen {
  method: string;
  path: string;
  query: readonly string[];
  contentFormat: number | undefined;
  accept: number | undefined;
  payload: Uint8Array;
}

describe('device management', () => {
  let h: Harness;
  let seen: Seen[];
  let answer: (request: IncomingRequest) => OutgoingResponse | Promise<OutgoingResponse>;

  async function setup(
    query: string[],
    links = '</>;rt="oma.lwm2m";ct="60 110 112",</3/0>,</3303/0>',
    options = {},
  ): Promise<void> {
    seen = [];
    answer = () => ({ code: CoapCode.CHANGED });
    h = await createHarness(options, (request) => {
      seen.push({
        method: request.method,
        path: '/' + request.path.join('/'),
        query: request.query,
        contentFormat: request.contentFormat,
        accept: request.accept,
        payload: request.payload,
      });
      return answer(request);
    });
    const response = await h.send({ method: 'POST', path: '/rd', query, payload: links, contentFormat: 40 });
    expect(response.code).toBe(CoapCode.CREATED);
  }

  afterEach(async () => {
    await h?.close();
  });

  test('read of a single resource asks nothing special and decodes text', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = () => ({ code: CoapCode.CONTENT, contentFormat: 0, payload: '87' });
    expect(await h.server.read('d', '/3/0/9')).toEqual(singleResource(9, 'integer', 87));
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/3/0/9', accept: undefined });
  });

  test('read of an instance asks for SenML CBOR from a 1.1 client that advertised it', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = (request) => ({
      code: CoapCode.CONTENT,
      contentFormat: request.accept ?? 0,
      payload: codec.encode(request.accept ?? 0, DEVICE, [3, 0]),
    });
    expect(await h.server.read('d', [3, 0])).toEqual(DEVICE);
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/3/0', accept: ContentFormat.SENML_CBOR });
  });

  test('read of an instance from a 1.0 client asks for TLV; the format can be overridden', async () => {
    await setup(['ep=d'], '</3/0>');
    answer = (request) => ({
      code: CoapCode.CONTENT,
      contentFormat: request.accept ?? 0,
      payload: codec.encode(request.accept ?? 0, DEVICE, [3, 0]),
    });
    expect(await h.server.read('d', '/3/0')).toEqual(DEVICE);
    expect(await h.server.read('d', '/3/0', { format: ContentFormat.SENML_JSON })).toEqual(DEVICE);
    expect(seen.map((s) => s.accept)).toEqual([ContentFormat.TLV, ContentFormat.SENML_JSON]);
  });

  test('requests go under the alternate root path', async () => {
    await setup(['ep=d', 'lwm2m=1.1'], '</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>');
    answer = () => ({ code: CoapCode.CONTENT, contentFormat: 0, payload: 'ACME' });
    await h.server.read('d', '/3/0/0');
    expect(seen[0]?.path).toBe('/lwm2m/3/0/0');
  });

  test('an error code rejects with RequestFailedError carrying the code and the diagnostic', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = () => ({ code: CoapCode.NOT_FOUND, payload: 'no such instance' });
    const error = await h.server.read('d', '/3/7/0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error).toMatchObject({
      code: 'ERR_REQUEST_FAILED',
      coapCode: CoapCode.NOT_FOUND,
      codeText: '4.04',
      diagnostic: 'no such instance',
    });
  });

  test('an unknown endpoint rejects with ClientNotRegisteredError', async () => {
    await setup(['ep=d']);
    await expect(h.server.read('nobody', '/3/0/0')).rejects.toBeInstanceOf(ClientNotRegisteredError);
  });

  test('timeout and abort reject with typed errors', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = () => new Promise(() => undefined);
    const timedOut = await h.server.read('d', '/3/0/0', { timeout: 100 }).catch((e: unknown) => e);
    expect(isLwm2mError(timedOut) && timedOut.code).toBe('ERR_TIMEOUT');
    const controller = new AbortController();
    const pending = h.server.read('d', '/3/0/1', { signal: controller.signal });
    controller.abort();
    const aborted = await pending.catch((e: unknown) => e);
    expect(isLwm2mError(aborted) && aborted.code).toBe('ERR_ABORTED');
  });

  test('discover parses link-format with attributes', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = () => ({
      code: CoapCode.CONTENT,
      contentFormat: 40,
      payload: '</3/0>,</3/0/9>;pmin=10;pmax=60,</3/0/6>;dim=2',
    });
    const links = await h.server.discover('d', '/3/0');
    expect(seen[0]).toMatchObject({ method: 'GET', accept: 40 });
    expect(links.map((l) => l.path)).toEqual([
      [3, 0],
      [3, 0, 9],
      [3, 0, 6],
    ]);
    expect(links[1]?.attributes).toEqual({ pmin: 10, pmax: 60 });
    expect(links[2]?.dim).toBe(2);
  });

  test('write of a plain value: PUT text/plain typed from the registry; opaque goes as octet-stream', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    await h.server.write('d', '/3/0/14', '+02:00');
    expect(seen[0]).toMatchObject({ method: 'PUT', path: '/3/0/14', contentFormat: 0 });
    expect(Buffer.from(seen[0]?.payload ?? []).toString()).toBe('+02:00');
    await h.server.write('d', '/5/0/0', new Uint8Array([1, 2, 3]));
    expect(seen[1]).toMatchObject({ method: 'PUT', contentFormat: 42 });
    expect([...(seen[1]?.payload ?? [])]).toEqual([1, 2, 3]);
  });

  test("write of an instance: PUT or POST (update) in the client's multi-value format", async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    const instance = objectInstance(0, [
      singleResource(14, 'string', '+01:00'),
      singleResource(15, 'string', 'Europe/Paris'),
    ]);
    await h.server.write('d', '/3/0', instance);
    await h.server.write('d', '/3/0', instance, { mode: 'update' });
    expect(seen.map((s) => [s.method, s.contentFormat])).toEqual([
      ['PUT', 112],
      ['POST', 112],
    ]);
    expect(codec.decode(112, seen[0]?.payload as Uint8Array, [3, 0])).toEqual(instance);
  });

  test('write refuses a node that does not fit the path', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    await expect(h.server.write('d', '/3/0/14', objectInstance(0, []))).rejects.toMatchObject({
      code: 'ERR_INVALID_REQUEST',
    });
    expect(seen).toEqual([]);
  });

  test('write-attributes sends only a query', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    await h.server.writeAttributes('d', '/3/0/9', { set: { pmin: 10, pmax: 60, gt: 50.5 }, unset: ['st'] });
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      path: '/3/0/9',
      query: ['pmin=10', 'pmax=60', 'gt=50.5', 'st'],
      contentFormat: undefined,
    });
    expect(seen[0]?.payload.byteLength).toBe(0);
    await expect(h.server.writeAttributes('d', '/3/0/9', { set: { pmin: -1 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_REQUEST',
    });
  });

  test('execute: POST with arguments as text', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    await h.server.execute('d', '/3/0/4');
    await h.server.execute('d', '/3/0/4', { 0: 'on', 3: undefined });
    expect(seen.map((s) => [s.method, s.path, Buffer.from(s.payload).toString()])).toEqual([
      ['POST', '/3/0/4', ''],
      ['POST', '/3/0/4', "0='on',3"],
    ]);
    await expect(h.server.execute('d', '/3/0')).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
  });

  test('create: POST on the object; the new path comes from Location-Path', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = () => ({ code: CoapCode.CREATED, locationPath: ['3303', '4'] });
    const instance = objectInstance(4, [singleResource(5701, 'string', 'Cel')]);
    expect(await h.server.create('d', 3303, instance)).toEqual([3303, 4]);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/3303', contentFormat: 112 });
    const decoded = codec.decode(112, seen[0]?.payload as Uint8Array, [3303]) as Extract<
      Lwm2mNode,
      { kind: 'object' }
    >;
    expect(decoded.instances.get(4)).toEqual(instance);
  });

  test('delete: DELETE, 2.02', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = () => ({ code: CoapCode.DELETED });
    await h.server.delete('d', '/3303/0');
    expect(seen[0]).toMatchObject({ method: 'DELETE', path: '/3303/0' });
    answer = () => ({ code: CoapCode.CHANGED });
    await expect(h.server.delete('d', '/3303/0')).rejects.toBeInstanceOf(RequestFailedError);
  });

  test('read-composite: FETCH with a SenML path list, answer decoded by path', async () => {
    await setup(['ep=d', 'lwm2m=1.1']);
    answer = (request) => ({
      code: CoapCode.CONTENT,
      contentFormat: request.accept ?? 112,
      payload: codec.encodeComposite(
        request.accept ?? 112,
        new Map<string, Lwm2mNode>([
          ['/3/0/0', singleResource(0, 'string', 'ACME')],
          ['/3/0/9', singleResource(9, 'integer', 87)],
        ]),
      ),
    });
    const values = await h.server.readComposite('d', ['/3/0/0', '/3/0/9']);
    expect(seen[0]).toMatchObject({ method: 'FETCH', path: '/', contentFormat: 112, accept: 112 });
    expect(codec.decodePaths(112, seen[0]?.payload as Uint8Array)).toEqual([
      [3, 0, 0],
      [3, 0, 9],
    ]);
    expect(values.get('/3/0/9')).toEqual(singleResource(9, 'integer', 87));
  });

  test('write-composite: iPATCH in SenML JSON for a client that only speaks it', async () => {
    await setup(['ep=d', 'lwm2m=1.1'], '</>;ct=110,</3/0>');
    await h.server.writeComposite('d', {
      '/3/0/14': singleResource(14, 'string', 'Z'),
      '/3/0/15': singleResource(15, 'string', 'UTC'),
    });
    expect(seen[0]).toMatchObject({ method: 'iPATCH', contentFormat: 110 });
    expect(codec.decodeComposite(110, seen[0]?.payload as Uint8Array).get('/3/0/15')).toEqual(
      singleResource(15, 'string', 'UTC'),
    );
  });
});

describe('NAT rebinding', () => {
  test('an Update from a new address moves where requests go', async () => {
    const serverSocket = await createUdpSocket({ address: '127.0.0.1', port: 0 });
    const server = createServer({ sockets: { coap: serverSocket } });
    await server.listen();
    const hits: string[] = [];
    const first = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1' }),
      handler: () => {
        hits.push('first');
        return { code: CoapCode.CONTENT, payload: '1' };
      },
    });
    const second = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1' }),
      handler: () => {
        hits.push('second');
        return { code: CoapCode.CONTENT, payload: '2' };
      },
    });
    try {
      const peer = server.address();
      const created = await first.request({
        peer,
        method: 'POST',
        path: '/rd',
        query: ['ep=nat'],
        payload: '</3/0>',
        contentFormat: 40,
      });
      expect(await server.read('nat', '/3/0/0')).toMatchObject({ value: '1' });
      const updated = await second.request({
        peer,
        method: 'POST',
        path: ['rd', created.locationPath[1] as string],
      });
      expect(updated.code).toBe(CoapCode.CHANGED);
      expect((await server.getRegistration('nat'))?.port).toBe(second.address().port);
      expect(await server.read('nat', '/3/0/0')).toMatchObject({ value: '2' });
      await eventually(() => expect(hits).toEqual(['first', 'second']));
    } finally {
      await server.close();
      await first.close();
      await second.close();
    }
  });
});
