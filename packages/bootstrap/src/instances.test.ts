import { objectInstance, singleResource } from '@lwm2m/core';
import type { BootstrapConfig } from './config.js';
import { bootstrapSecurityInfo, needsDiscover, planWrites, serverSecurityInfo } from './instances.js';

const KEY = Uint8Array.of(1, 2, 3);

function paths(config: BootstrapConfig, bootstrapInstanceId?: number): string[] {
  return planWrites(config, bootstrapInstanceId).map((w) => `/${w.path.join('/')}`);
}

describe('planWrites', () => {
  const servers = [{ ssid: 1, lifetime: 60 }];

  it('keeps given ids and hands out the lowest free ones, skipping the client bootstrap account', () => {
    const config: BootstrapConfig = {
      security: [
        { uri: 'coap://a', ssid: 1, mode: 'nosec' },
        { instanceId: 0, uri: 'coap://b', ssid: 2, mode: 'nosec' },
        { uri: 'coap://c', ssid: 3, mode: 'nosec' },
      ],
      servers,
    };
    expect(paths(config)).toEqual(['/0/1', '/0/0', '/0/2', '/1/0']);
    expect(paths(config, 1)).toEqual(['/0/2', '/0/0', '/0/3', '/1/0']);
  });

  it('writes a bootstrap account without an id over the one the client has', () => {
    const config: BootstrapConfig = {
      security: [
        { uri: 'coap://a', ssid: 1, mode: 'nosec' },
        { uri: 'coap://bs', bootstrap: true, mode: 'nosec' },
      ],
      servers,
    };
    expect(paths(config, 5)).toEqual(['/0/0', '/0/5', '/1/0']);
    expect(paths(config)).toEqual(['/0/0', '/0/1', '/1/0']);
    expect(needsDiscover(config)).toBe(true);
    expect(
      needsDiscover({ ...config, security: [{ instanceId: 0, uri: 'coap://a', ssid: 1, mode: 'nosec' }] }),
    ).toBe(false);
  });

  it('orders Security, Server, OSCORE, then other objects, and keeps OSCORE ids off given object-21 instances', () => {
    const config: BootstrapConfig = {
      security: [{ instanceId: 0, uri: 'coap://a', ssid: 1, mode: 'nosec' }],
      servers,
      oscore: [{ masterSecret: KEY, senderId: KEY, recipientId: KEY }],
      objects: [
        { objectId: 21, instance: objectInstance(0, [singleResource(0, 'opaque', KEY)]) },
        { objectId: 2, instance: objectInstance(3, []) },
      ],
    };
    expect(paths(config)).toEqual(['/0/0', '/1/0', '/21/1', '/21/0', '/2/3']);
  });

  it('builds the Security instance a device needs for each mode', () => {
    const config: BootstrapConfig = {
      security: [
        { instanceId: 0, uri: 'coaps://a', ssid: 1, mode: 'psk', identity: 'id', key: KEY },
        {
          instanceId: 1,
          uri: 'coaps://b',
          ssid: 2,
          mode: 'rpk',
          publicKey: Uint8Array.of(4),
          privateKey: Uint8Array.of(5),
          serverPublicKey: Uint8Array.of(6),
        },
        {
          instanceId: 2,
          uri: 'coaps://c',
          ssid: 3,
          mode: 'x509',
          certificate: Uint8Array.of(7),
          privateKey: Uint8Array.of(8),
          serverCertificate: Uint8Array.of(9),
          certificateUsage: 2,
          serverNameIndication: 'lwm2m.example.com',
        },
      ],
      servers,
    };
    const nodes = planWrites(config, undefined)
      .slice(0, 3)
      .map((w) => w.node);
    const pick = (n: number, ids: number[]): unknown[] =>
      ids.map((id) => {
        const r = nodes[n]?.resources.get(id);
        return r?.kind === 'resource' ? r.value : undefined;
      });
    expect(pick(0, [2, 3, 4, 5, 10])).toEqual([
      0,
      Uint8Array.from(Buffer.from('id')),
      new Uint8Array(0),
      KEY,
      1,
    ]);
    expect(pick(1, [2, 3, 4, 5])).toEqual([1, Uint8Array.of(4), Uint8Array.of(6), Uint8Array.of(5)]);
    expect(pick(2, [2, 3, 4, 5, 14, 15])).toEqual([
      2,
      Uint8Array.of(7),
      Uint8Array.of(9),
      Uint8Array.of(8),
      'lwm2m.example.com',
      2,
    ]);
    // Certificate usage and SNI only for certificates.
    expect(pick(1, [14, 15])).toEqual([undefined, undefined]);
  });

  it('derives the security info of the bootstrap account and of the first secured server account', () => {
    const config: BootstrapConfig = {
      security: [
        { uri: 'coaps://bs', bootstrap: true, mode: 'psk', identity: 'bs', key: KEY },
        { uri: 'coap://a', ssid: 1, mode: 'nosec' },
        {
          uri: 'coaps://b',
          ssid: 2,
          mode: 'x509',
          certificate: KEY,
          privateKey: KEY,
          serverCertificate: KEY,
          commonName: 'cn',
        },
      ],
      servers,
    };
    expect(bootstrapSecurityInfo('ep', config)).toEqual({
      endpoint: 'ep',
      mode: 'psk',
      identity: 'bs',
      key: KEY,
    });
    expect(serverSecurityInfo('ep', config)).toEqual({ endpoint: 'ep', mode: 'x509', commonName: 'cn' });
    expect(serverSecurityInfo('ep', { ...config, security: config.security.slice(0, 2) })).toBeUndefined();
  });
});
