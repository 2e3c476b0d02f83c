import { isLwm2mError } from '@lwm2m/core';
import { bootstrapConfigToJson, parseBootstrapConfig } from './config-json.js';
import type { BootstrapConfig } from './config.js';
import { bootstrapConfigProblems } from './config-validation.js';

const json = {
  delete: ['/'],
  read: ['/1', '/2/0'],
  contentFormat: 112,
  security: [
    {
      uri: 'coaps://bs.example:5784',
      bootstrap: true,
      mode: 'psk',
      identity: 'bs-1',
      key: '0011',
      accountTimeout: 60,
    },
    {
      instanceId: 1,
      uri: 'coaps://dm.example:5684',
      ssid: 7,
      mode: 'psk',
      identity: 'dm-1',
      key: 'a0a1a2',
      holdOffTime: 3,
      oscoreInstanceId: 0,
    },
    {
      uri: 'coaps://rpk.example',
      ssid: 8,
      mode: 'rpk',
      publicKey: '01',
      privateKey: '02',
      serverPublicKey: '03',
    },
  ],
  servers: [
    { ssid: 7, lifetime: 300, binding: 'U' },
    { ssid: 8, lifetime: 60, pmin: 1, pmax: 2, notificationStoring: false },
  ],
  oscore: [{ instanceId: 0, masterSecret: 'ff', senderId: '', recipientId: '01', aeadAlgorithm: 10 }],
  objects: [
    {
      objectId: 2,
      instanceId: 0,
      resources: { '0': 1, '1': 0, '2': { '101': 15 }, '3': 7 },
    },
    {
      objectId: 30000,
      instanceId: 1,
      resources: {
        '0': 'text',
        '1': 2.5,
        '2': { type: 'opaque', value: 'beef' },
        '3': { type: 'unsigned', instances: { '0': '18446744073709551615' } },
        '4': { type: 'objlnk', value: '3:0' },
        '5': { type: 'time', value: '2020-01-01T00:00:00Z' },
      },
    },
  ],
};

describe('parseBootstrapConfig', () => {
  it('reads the JSON form: hex bytes, typed resources from the registry or given, and round-trips', () => {
    const config = parseBootstrapConfig(json);
    expect(config.security[0]).toEqual({
      uri: 'coaps://bs.example:5784',
      bootstrap: true,
      mode: 'psk',
      identity: 'bs-1',
      key: Uint8Array.of(0, 0x11),
      accountTimeout: 60,
    });
    expect(config.oscore?.[0]?.senderId).toEqual(new Uint8Array(0));
    const acl = config.objects?.[0]?.instance;
    expect(acl?.resources.get(2)).toEqual({
      kind: 'multipleResource',
      id: 2,
      type: 'integer',
      instances: new Map([[101, 15]]),
    });
    expect(acl?.resources.get(0)).toEqual({ kind: 'resource', id: 0, type: 'integer', value: 1 });
    const vendor = config.objects?.[1]?.instance;
    expect([...(vendor?.resources.values() ?? [])]).toEqual([
      { kind: 'resource', id: 0, type: 'string', value: 'text' },
      { kind: 'resource', id: 1, type: 'float', value: 2.5 },
      { kind: 'resource', id: 2, type: 'opaque', value: Uint8Array.of(0xbe, 0xef) },
      { kind: 'multipleResource', id: 3, type: 'unsigned', instances: new Map([[0, 18446744073709551615n]]) },
      { kind: 'resource', id: 4, type: 'objlnk', value: { objectId: 3, instanceId: 0 } },
      { kind: 'resource', id: 5, type: 'time', value: new Date('2020-01-01T00:00:00Z') },
    ]);
    const again = parseBootstrapConfig(JSON.parse(JSON.stringify(bootstrapConfigToJson(config))));
    expect(again).toEqual(config);
  });

  it('keeps certificate usage and SNI of an X.509 account through JSON', () => {
    const config = parseBootstrapConfig({
      security: [
        {
          uri: 'coaps://lwm2m.example:5684',
          ssid: 1,
          mode: 'x509',
          certificate: '01',
          privateKey: '02',
          serverCertificate: '03',
          certificateUsage: 1,
          serverNameIndication: 'lwm2m.example.com',
        },
      ],
      servers: [{ ssid: 1, lifetime: 60 }],
    });
    expect(config.security[0]).toMatchObject({
      certificateUsage: 1,
      serverNameIndication: 'lwm2m.example.com',
    });
    expect(parseBootstrapConfig(JSON.parse(JSON.stringify(bootstrapConfigToJson(config))))).toEqual(config);
  });

  it('names every problem at once, with where it is', () => {
    let error: unknown;
    try {
      parseBootstrapConfig(
        {
          security: [{ uri: 'http://x', ssid: 0, mode: 'psk', identity: 'i', key: 'xyz' }],
          servers: [{ ssid: 9, lifetime: -1 }],
          objects: [{ objectId: 2, instanceId: 0, resources: { '0': 'not a number' } }],
        },
        { context: 'dev-1' },
      );
    } catch (e) {
      error = e;
    }
    expect(isLwm2mError(error) && error.code).toBe('ERR_BOOTSTRAP_CONFIG');
    const problems = (error as { problems: string[] }).problems;
    expect(problems).toEqual([
      'security[0].key must be a hex string',
      'objects[0].resources.0 must be an integer value',
    ]);
    expect((error as Error).message).toMatch(/^dev-1: invalid bootstrap configuration/);
  });

  it('refuses what is not a config object', () => {
    expect(() => parseBootstrapConfig([])).toThrow(/not a JSON object/);
    expect(() => parseBootstrapConfig({ security: {}, servers: [] })).toThrow(/security must be a list/);
  });
});

describe('bootstrapConfigProblems', () => {
  const ok: BootstrapConfig = {
    security: [{ instanceId: 0, uri: 'coap://a', ssid: 1, mode: 'nosec' }],
    servers: [{ ssid: 1, lifetime: 60 }],
  };

  it('accepts a minimal config', () => {
    expect(bootstrapConfigProblems(ok)).toEqual([]);
  });

  it.each<[string, Partial<BootstrapConfig>, string]>([
    [
      'a bad URI',
      { security: [{ uri: 'http://a', ssid: 1, mode: 'nosec' }] },
      'security[0].uri must be a coap://',
    ],
    [
      'coaps with nosec',
      { security: [{ uri: 'coaps://a', ssid: 1, mode: 'nosec' }] },
      'needs a DTLS/TLS mode',
    ],
    [
      'coap with psk',
      { security: [{ uri: 'coap://a', ssid: 1, mode: 'psk', identity: 'i', key: Uint8Array.of(1) }] },
      'needs a coaps:// URI',
    ],
    [
      'a long PSK identity',
      {
        security: [
          { uri: 'coaps://a', ssid: 1, mode: 'psk', identity: 'i'.repeat(129), key: Uint8Array.of(1) },
        ],
      },
      'identity must be 1..128 bytes',
    ],
    [
      'a long PSK',
      { security: [{ uri: 'coaps://a', ssid: 1, mode: 'psk', identity: 'i', key: new Uint8Array(65) }] },
      'key must be 1..64 bytes',
    ],
    [
      'a bad certificate usage',
      {
        security: [
          {
            uri: 'coaps://a',
            ssid: 1,
            mode: 'x509',
            certificate: Uint8Array.of(1),
            privateKey: Uint8Array.of(2),
            serverCertificate: Uint8Array.of(3),
            certificateUsage: 4 as 3,
          },
        ],
      },
      'certificateUsage must be 0, 1, 2 or 3',
    ],
    [
      'a server account without ssid',
      { security: [{ uri: 'coap://a', mode: 'nosec' }] },
      'ssid must be 1..65534',
    ],
    [
      'two bootstrap accounts',
      {
        security: [
          ...ok.security,
          { uri: 'coap://b', bootstrap: true, mode: 'nosec' },
          { uri: 'coap://c', bootstrap: true, mode: 'nosec' },
        ],
      },
      'at most one bootstrap account',
    ],
    [
      'an ssid on the bootstrap account',
      { security: [...ok.security, { uri: 'coap://b', bootstrap: true, ssid: 3, mode: 'nosec' }] },
      'ssid is not used on a bootstrap account',
    ],
    ['a server without security', { servers: [{ ssid: 2, lifetime: 60 }] }, 'no security account has ssid 2'],
    [
      'pmax below pmin',
      { servers: [{ ssid: 1, lifetime: 60, pmin: 10, pmax: 5 }] },
      'pmax must not be below pmin',
    ],
    ['a bad binding', { servers: [{ ssid: 1, lifetime: 60, binding: 'X' }] }, 'binding must be letters'],
    [
      'twice the same instance id',
      {
        servers: [
          { instanceId: 0, ssid: 1, lifetime: 60 },
          { instanceId: 0, ssid: 1, lifetime: 60 },
        ],
      },
      'instance id 0 is used twice',
    ],
    ['a delete below an instance', { delete: ['/1/0/1'] }, 'Bootstrap-Delete targets'],
    ['a read of the Security object', { read: ['/0'] }, 'Bootstrap-Read targets'],
    ['a format without instances', { contentFormat: 0 }, 'contentFormat 0 cannot carry object instances'],
    [
      'an OSCORE link to nothing',
      { security: [{ instanceId: 0, uri: 'coap://a', ssid: 1, mode: 'nosec', oscoreInstanceId: 3 }] },
      'names no oscore instance',
    ],
    [
      'a Security instance in objects',
      { objects: [{ objectId: 0, instance: { kind: 'objectInstance', id: 0, resources: new Map() } }] },
      'objects 0 and 1 go in security and servers',
    ],
  ])('finds %s', (_name, change, problem) => {
    expect(bootstrapConfigProblems({ ...ok, ...change }).join('\n')).toContain(problem);
  });
});
