import { ContentFormat, createCoreObjectRegistry, objectInstance, singleResource } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import { RequestFailedError, ClientNotRegisteredError } from '@lwm2m/server';
import { BridgeRequestError } from './errors.js';
import { errorStatus } from './error-status.js';
import { createInstance, parseJsonBody, parseRequest, readRequestId } from './request-body.js';
import type { BridgeMethod } from './topic.js';

const registry = createCoreObjectRegistry();
const limits = { maxTimeout: 60_000, maxPaths: 3 };

function parse(method: BridgeMethod, path: Lwm2mPath, body: Record<string, unknown>) {
  return parseRequest({ endpoint: 'd', method, path }, body, registry, limits);
}

function refused(method: BridgeMethod, path: Lwm2mPath, body: Record<string, unknown>): string {
  try {
    parse(method, path, body);
  } catch (error) {
    if (error instanceof BridgeRequestError) return `${error.code} ${error.message}`;
    throw error;
  }
  throw new Error('accepted');
}

describe('parseJsonBody', () => {
  it('takes an object, an empty body as {}, and refuses the rest', () => {
    expect(parseJsonBody(Buffer.from('{"id":1}'))).toEqual({ id: 1 });
    expect(parseJsonBody(new Uint8Array())).toEqual({});
    expect(() => parseJsonBody(Buffer.from('[]'))).toThrow(/JSON object/);
    expect(() => parseJsonBody(Buffer.from('null'))).toThrow(/JSON object/);
    expect(() => parseJsonBody(Buffer.from('{'))).toThrow(/not JSON/);
    expect(() => parseJsonBody(Buffer.from([0xc3, 0x28]))).toThrow(/UTF-8/);
  });

  it('reads a usable id only', () => {
    expect(readRequestId({ id: 'a' })).toBe('a');
    expect(readRequestId({ id: 3 })).toBe(3);
    expect(readRequestId({ id: 'x'.repeat(257) })).toBeUndefined();
    expect(readRequestId({ id: {} })).toBeUndefined();
    expect(readRequestId(undefined)).toBeUndefined();
  });
});

describe('parseRequest', () => {
  it('builds each method with its options', () => {
    expect(parse('GET', [3, 0], { id: 'a', format: 'tlv', timeout: 500 })).toEqual({
      endpoint: 'd',
      id: 'a',
      timeout: 500,
      method: 'GET',
      path: [3, 0],
      format: ContentFormat.TLV,
    });
    expect(parse('GET', [3, 0], { options: { format: 110 } })).toMatchObject({ format: 110 });
    expect(parse('PUT', [3, 0, 14], { value: '+01:00' })).toMatchObject({
      node: singleResource(14, 'string', '+01:00'),
    });
    expect(parse('PUT', [3, 0, 14], { payload: '+01:00' })).toMatchObject({
      node: singleResource(14, 'string', '+01:00'),
    });
    expect(parse('POST', [3, 0, 4], {})).toMatchObject({ action: 'execute', args: undefined });
    expect(parse('POST', [3, 0, 4], { args: "0='on',1" })).toMatchObject({
      action: 'execute',
      args: "0='on',1",
    });
    expect(parse('POST', [3, 0, 4], { args: { '0': 'on', '1': null } })).toMatchObject({
      args: { 0: 'on', 1: undefined },
    });
    expect(parse('POST', [3, 0], { value: { '14': 'x' } })).toMatchObject({
      action: 'update',
      node: objectInstance(0, [singleResource(14, 'string', 'x')]),
    });
    expect(parse('DELETE', [3303, 1], {})).toMatchObject({ method: 'DELETE', path: [3303, 1] });
    expect(parse('DISCOVER', [], {})).toMatchObject({ method: 'DISCOVER', path: [] });
    expect(
      parse('WRITE-ATTRIBUTES', [3303, 0, 5700], { attributes: { pmin: 1, gt: 20.5, st: null, edge: 1 } }),
    ).toMatchObject({
      set: { pmin: 1, gt: 20.5, edge: 1 },
      unset: ['st'],
    });
    expect(parse('READ-COMPOSITE', [], { paths: ['/3/0/0', '/1'] })).toMatchObject({
      paths: [[3, 0, 0], [1]],
    });
    expect(parse('OBSERVE-COMPOSITE', [], { paths: ['/3/0/0'], format: 'senml-cbor' })).toMatchObject({
      format: 112,
    });
    const composite = parse('WRITE-COMPOSITE', [], { values: { '/3/0/14': 'a', '/3/0/15/': 'b' } });
    expect(composite.method === 'WRITE-COMPOSITE' && [...composite.nodes.keys()]).toEqual([
      '/3/0/14',
      '/3/0/15',
    ]);
  });

  it('builds CREATE with the instance id given later', () => {
    const request = parse('CREATE', [3303], { value: { '5750': 'x' } });
    expect(request).toMatchObject({ method: 'CREATE', instance: undefined });
    if (request.method !== 'CREATE') throw new Error('not CREATE');
    expect(createInstance(request, 4, registry)).toEqual(
      objectInstance(4, [singleResource(5750, 'string', 'x')]),
    );
    expect(parse('CREATE', [3303], { instance: 2 })).toMatchObject({ instance: 2, value: {} });
  });

  it.each([
    ['GET', [3, 0, 0], { value: 1 }, /ERR_BAD_BODY unexpected field "value" for GET/],
    ['GET', [3, 0, 0], { id: [] }, /"id" must be/],
    ['GET', [3, 0, 0], { timeout: 0 }, /timeout/],
    ['GET', [3, 0, 0], { timeout: 60_001 }, /timeout/],
    ['GET', [3, 0, 0], { timeout: 1.5 }, /timeout/],
    ['GET', [3, 0, 0], { format: 'xml' }, /unknown format/],
    ['GET', [3, 0, 0], { format: 9999 }, /unsupported format/],
    ['GET', [3, 0, 0], { options: { accept: 1 } }, /"options" may only hold "format"/],
    ['GET', [], {}, /ERR_BAD_PATH GET needs an object/],
    ['PUT', [3], { value: {} }, /PUT needs an object instance/],
    ['PUT', [3, 0, 14], { value: 'a', payload: 'b' }, /not both/],
    ['POST', [3, 0, 4], { args: "0='it's'" }, /execute arguments/],
    ['POST', [3, 0, 4], { args: { '10': 'x' } }, /0-9/],
    ['POST', [3, 0, 4], { format: 'text' }, /execute takes no format/],
    ['POST', [3, 0], { args: '0' }, /"args" is for execute/],
    ['DELETE', [3, 0, 1], {}, /DELETE needs an object or an object instance path/],
    ['CREATE', [3303], { instance: 65535 }, /"instance"/],
    ['CREATE', [3303], { value: { '5700': 'hot' } }, /ERR_BAD_VALUE \/3303\/5700: expected a number/],
    ['WRITE-ATTRIBUTES', [3, 0], {}, /"attributes" must be/],
    ['WRITE-ATTRIBUTES', [3, 0], { attributes: { pmim: 1 } }, /unknown attribute "pmim"/],
    ['WRITE-ATTRIBUTES', [3, 0], { attributes: { edge: 2 } }, /edge must be 0 or 1/],
    ['WRITE-ATTRIBUTES', [3, 0], { attributes: { gt: 'x' } }, /gt must be a number/],
    ['READ-COMPOSITE', [], {}, /"paths" must be a non-empty array/],
    ['READ-COMPOSITE', [], { paths: [3] }, /entries must be strings/],
    ['READ-COMPOSITE', [], { paths: ['/1', '/2', '/3', '/4'] }, /more than 3 paths/],
    ['READ-COMPOSITE', [], { paths: ['3/0'] }, /must start with/],
    ['READ-COMPOSITE', [3], { paths: ['/3/0'] }, /paths in the body/],
    ['WRITE-COMPOSITE', [], { values: {} }, /non-empty object/],
    ['WRITE-COMPOSITE', [], { values: { '/3/0/x': 1 } }, /invalid id "x"/],
    ['WRITE-COMPOSITE', [], { values: { '/3/0/14': 1 } }, /expected a string/],
  ] as [BridgeMethod, Lwm2mPath, Record<string, unknown>, RegExp][])(
    '%s %j %j is refused',
    (method, path, body, message) => {
      expect(refused(method, path, body)).toMatch(message);
    },
  );
});

describe('errorStatus', () => {
  it('maps each failure to a status and a code', () => {
    expect(errorStatus(new BridgeRequestError('ERR_FORBIDDEN', '4.03', 'no'))).toEqual({
      status: '4.03',
      code: 'ERR_FORBIDDEN',
      message: 'no',
    });
    expect(errorStatus(new RequestFailedError('read /3/0 on d', 132, 'gone'))).toMatchObject({
      status: '4.04',
      code: 'ERR_REQUEST_FAILED',
      message: 'read /3/0 on d failed with 4.04: gone',
    });
    expect(errorStatus(new ClientNotRegisteredError('d'))).toMatchObject({
      status: '4.04',
      code: 'ERR_NOT_REGISTERED',
    });
    expect(errorStatus(new Error('secret internals'))).toEqual({
      status: '5.00',
      code: 'ERR_INTERNAL',
      message: 'internal error in the bridge',
    });
  });
});
