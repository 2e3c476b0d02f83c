import { generateKeyPairSync } from 'node:crypto';
import { dtlsCredentials } from './dtls-credentials.js';
import { ClientConfigError } from './errors.js';
import { securityInstance } from './objects/security.js';
import { connectSecurityOf, connectTargetOf, SecurityMode } from './security-target.js';

const pair = (): { publicKey: string; privateKey: string } =>
  generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
  });

describe('Security instance → connect target → DTLS credentials', () => {
  it('stores an RPK account as DER resources 3/4/5 and reads it back', () => {
    const device = pair();
    const server = pair();
    const instance = securityInstance({
      uri: 'coaps://10.0.0.1:5684',
      rpk: { privateKey: device.privateKey, serverPublicKey: server.publicKey },
    });
    expect(instance.read(2)).toBe(SecurityMode.RPK);
    const target = connectTargetOf(instance);
    expect(target).toMatchObject({ host: '10.0.0.1', port: 5684, secure: true, security: { mode: 'rpk' } });
    const credentials = dtlsCredentials(target.security!);
    if (!('ecdsa' in credentials)) throw new Error('expected ecdsa credentials');
    expect(credentials.ecdsa.rawPublicKey).toBe(true);
    expect(credentials.ecdsa.key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const serverSpki = Buffer.from(instance.read(4) as Uint8Array);
    expect(credentials.ecdsa.verifyRawPublicKey!(serverSpki)).toBe(true);
    expect(credentials.ecdsa.verifyRawPublicKey!(Buffer.from(instance.read(3) as Uint8Array))).toBe(false);
  });

  it('takes a bare 32-byte private scalar (as some bootstrap servers write it) with the public key of resource 3', () => {
    const device = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = device.privateKey.export({ format: 'jwk' });
    const scalar = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
    const publicKey = new Uint8Array(device.publicKey.export({ type: 'spki', format: 'der' }));
    const credentials = dtlsCredentials({
      mode: 'rpk',
      publicKey,
      privateKey: scalar,
      serverPublicKey: publicKey,
    });
    if (!('ecdsa' in credentials)) throw new Error('expected ecdsa credentials');
    expect(credentials.ecdsa.key.export({ format: 'jwk' }).d).toBe(jwk.d);
  });

  it('checks the server name for certificate usages 0-2 (SNI first, else the URI host) and not for 3', () => {
    const base = {
      mode: 'x509' as const,
      certificate: new Uint8Array([1]),
      serverCertificate: new Uint8Array([2]),
    };
    const key = new Uint8Array(
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
        type: 'pkcs8',
        format: 'der',
      }),
    );
    const trustAnchor = dtlsCredentials({
      ...base,
      privateKey: key,
      certificateUsage: 2,
      serverName: 'lwm2m.example.com',
    });
    const domainIssued = dtlsCredentials({
      ...base,
      privateKey: key,
      certificateUsage: 3,
      serverName: 'lwm2m.example.com',
    });
    expect(trustAnchor).toMatchObject({ ecdsa: { hostname: 'lwm2m.example.com', rawPublicKey: false } });
    expect('ecdsa' in domainIssued && domainIssued.ecdsa.hostname).toBeUndefined();

    const instance = securityInstance({
      uri: 'coaps://lwm2m.example.com',
      psk: { identity: 'x', key: new Uint8Array([1]) },
    });
    expect(connectSecurityOf(instance, 'lwm2m.example.com')).toEqual({
      mode: 'psk',
      identity: 'x',
      key: new Uint8Array([1]),
    });
  });

  it('refuses empty or unusable credentials with a ClientConfigError, not a failed handshake later', () => {
    const empty = new Uint8Array(0);
    expect(() => dtlsCredentials({ mode: 'psk', identity: 'a', key: empty })).toThrow(ClientConfigError);
    expect(() =>
      dtlsCredentials({
        mode: 'rpk',
        publicKey: empty,
        privateKey: new Uint8Array([1, 2, 3]),
        serverPublicKey: new Uint8Array([48, 1, 0]),
      }),
    ).toThrow(ClientConfigError);
    expect(() =>
      dtlsCredentials({
        mode: 'x509',
        certificate: empty,
        privateKey: empty,
        serverCertificate: empty,
        certificateUsage: 3,
        serverName: 'h',
      }),
    ).toThrow(ClientConfigError);
    expect(() =>
      securityInstance({ uri: 'coaps://h', rpk: { privateKey: 'not a key', serverPublicKey: 'nor this' } }),
    ).toThrow(ClientConfigError);
    expect(() =>
      securityInstance({
        uri: 'coaps://h',
        psk: { identity: 'a', key: new Uint8Array([1]) },
        rpk: { privateKey: '', serverPublicKey: '' },
      }),
    ).toThrow(/at most one/);
  });

  it('gives no credentials for NoSec and EST modes (the transport refuses coaps without them)', () => {
    expect(connectTargetOf(securityInstance({ uri: 'coaps://h' })).security).toBeUndefined();
  });
});
