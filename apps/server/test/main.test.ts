import type { ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoapCode, createCoapEndpoint } from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import { connectDtls } from '@lwm2m/transport-dtls';
import type { EcdsaClientOptions } from '@lwm2m/transport-dtls';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import { startApp as startAppProcess, stopApp } from '@lwm2m/app-kit/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';

const ROOT = join(__dirname, '..', '..', '..');

// Each test starts the app in a process (tsx compiles it first): slower than the default on a busy machine.
jest.setTimeout(60_000);
const PSK_KEY = '000102030405060708090a0b0c0d0e0f';

interface Started {
  readonly child: ChildProcess;
  readonly coaps: number;
}

/** Runs the app until it logs "listening", or until it exits (then with its output). */
async function startApp(env: Record<string, string>): Promise<Started> {
  const { child, ready } = await startAppProcess({
    appDir: join(ROOT, 'apps', 'server'),
    env: { LWM2M_HOST: '127.0.0.1', LWM2M_COAP_PORT: '0', LWM2M_COAPS_PORT: '0', LOG_LEVEL: 'info', ...env },
    ready: (entry) =>
      entry.msg === 'listening' && typeof entry['coaps'] === 'number' ? entry['coaps'] : undefined,
  });
  return { child, coaps: ready };
}

const stop = stopApp;

/** The server app with LWM2M_DTLS_KEY/CERT/CA and a LWM2M_SECURITY_FILE of every mode. */
describe('server app over DTLS with certificates and raw public keys', () => {
  let pki: TestPki;
  let serverCa: Issued;
  let deviceCa: Issued;
  let serverCert: Issued;
  let deviceCert: Issued;
  let rpkDevice: { keyFile: string; key: Buffer };
  let rpkDevice2: { keyFile: string; key: Buffer };
  let securityFile: string;
  let app: Started | undefined;
  const clients: CoapEndpoint[] = [];

  beforeAll(() => {
    pki = createTestPki();
    serverCa = pki.ca('server-ca');
    deviceCa = pki.ca('device-ca');
    serverCert = pki.issue('localhost', serverCa, { san: 'DNS:localhost,IP:127.0.0.1' });
    deviceCert = pki.issue('x509-dev', deviceCa);
    rpkDevice = pki.key('rpk-dev');
    rpkDevice2 = pki.key('rpk-dev-2');
    // One raw key as a public-key PEM file (as `openssl ec -pubout` writes it, path relative to
    // the security file), one as base64 SPKI DER.
    writeFileSync(
      join(pki.dir, 'rpk-dev.pub.pem'),
      createPublicKey(rpkDevice.key).export({ type: 'spki', format: 'pem' }),
    );
    const base64 = createPublicKey(rpkDevice2.key).export({ type: 'spki', format: 'der' }).toString('base64');
    securityFile = join(pki.dir, 'security.json');
    writeFileSync(
      securityFile,
      JSON.stringify([
        { endpoint: 'rpk-dev', mode: 'rpk', publicKey: 'rpk-dev.pub.pem' },
        { endpoint: 'rpk-dev-2', mode: 'rpk', publicKey: base64 },
        { endpoint: 'x509-dev', mode: 'x509' },
        { endpoint: 'psk-dev', mode: 'psk', identity: 'psk-id', key: PSK_KEY },
      ]),
    );
  });

  afterAll(() => pki.remove());

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await stop(app?.child);
    app = undefined;
  });

  async function register(
    port: number,
    endpoint: string,
    security: { ecdsa: EcdsaClientOptions } | { psk: { identity: string; key: Uint8Array } },
  ): Promise<string> {
    const peer = { address: '127.0.0.1', port };
    const connection = await connectDtls({ peer, localAddress: '127.0.0.1', timeout: 10_000, ...security });
    const client = createCoapEndpoint({ socket: connection, handler: () => ({ code: CoapCode.NOT_FOUND }) });
    clients.push(client);
    const response = await client.request({
      peer,
      method: 'POST',
      path: '/rd',
      query: [`ep=${endpoint}`, 'lwm2m=1.1'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    return `${response.code >> 5}.${String(response.code & 0x1f).padStart(2, '0')}`;
  }

  it('registers RPK, X.509 and PSK devices over ECDHE/PSK and refuses a key of another endpoint', async () => {
    app = await startApp({
      LWM2M_DTLS_KEY: serverCert.keyFile,
      LWM2M_DTLS_CERT: serverCert.certFile,
      LWM2M_DTLS_CA: deviceCa.certFile,
      LWM2M_SECURITY_FILE: securityFile,
    });
    const server = { trustAnchors: serverCa.certFile, hostname: '127.0.0.1' };
    expect(await register(app.coaps, 'rpk-dev', { ecdsa: { ...server, key: rpkDevice.keyFile } })).toBe(
      '2.01',
    );
    expect(await register(app.coaps, 'rpk-dev-2', { ecdsa: { ...server, key: rpkDevice2.keyFile } })).toBe(
      '2.01',
    );
    expect(
      await register(app.coaps, 'x509-dev', {
        ecdsa: { ...server, key: deviceCert.keyFile, certificate: deviceCert.certFile },
      }),
    ).toBe('2.01');
    expect(
      await register(app.coaps, 'psk-dev', { psk: { identity: 'psk-id', key: Buffer.from(PSK_KEY, 'hex') } }),
    ).toBe('2.01');
    expect(await register(app.coaps, 'rpk-dev', { ecdsa: { ...server, key: rpkDevice2.keyFile } })).toBe(
      '4.03',
    );
    expect(
      await register(app.coaps, 'rpk-dev', {
        ecdsa: { ...server, key: deviceCert.keyFile, certificate: deviceCert.certFile },
      }),
    ).toBe('4.03');
  });

  it('offers only its raw public key without LWM2M_DTLS_CERT, and refuses certificates without LWM2M_DTLS_CA', async () => {
    app = await startApp({ LWM2M_DTLS_KEY: serverCert.keyFile, LWM2M_SECURITY_FILE: securityFile });
    const serverSpki = createPublicKey(serverCert.key).export({ type: 'spki', format: 'der' });
    const pinned = { verifyRawPublicKey: (spki: Uint8Array) => Buffer.from(spki).equals(serverSpki) };
    expect(await register(app.coaps, 'rpk-dev', { ecdsa: { ...pinned, key: rpkDevice.keyFile } })).toBe(
      '2.01',
    );
    await expect(
      register(app.coaps, 'x509-dev', {
        ecdsa: { ...pinned, key: deviceCert.keyFile, certificate: deviceCert.certFile },
      }),
    ).rejects.toThrow();
  });

  it('keeps reading LWM2M_PSK', async () => {
    app = await startApp({ LWM2M_PSK: JSON.stringify([{ endpoint: 'old-dev', key: PSK_KEY }]) });
    expect(
      await register(app.coaps, 'old-dev', {
        psk: { identity: 'old-dev', key: Buffer.from(PSK_KEY, 'hex') },
      }),
    ).toBe('2.01');
  });

  it.each([
    [
      'a security entry of an unknown mode',
      { LWM2M_SECURITY_FILE: 'bad-mode.json' },
      /mode.{0,3} must be psk, rpk or x509/,
    ],
    [
      'a missing public key file',
      { LWM2M_SECURITY_FILE: 'missing-key.json' },
      /publicKey file .*nope\.pem not found/,
    ],
    ['a security file that is not JSON', { LWM2M_SECURITY_FILE: 'not-json.json' }, /is not JSON/],
    [
      'a key file that is no key',
      { LWM2M_DTLS_KEY: 'security.json' },
      /LWM2M_DTLS_KEY \(.*security\.json\): /,
    ],
    [
      'a certificate of another key',
      { LWM2M_DTLS_KEY: 'KEY', LWM2M_DTLS_CERT: 'OTHER_CERT' },
      /LWM2M_DTLS_CERT .* is not for LWM2M_DTLS_KEY/,
    ],
  ])('exits with a clear error on %s', async (_name, vars, message) => {
    writeFileSync(join(pki.dir, 'bad-mode.json'), JSON.stringify([{ endpoint: 'a', mode: 'oscore' }]));
    writeFileSync(
      join(pki.dir, 'missing-key.json'),
      JSON.stringify([{ endpoint: 'a', mode: 'rpk', publicKey: 'nope.pem' }]),
    );
    writeFileSync(join(pki.dir, 'not-json.json'), '[{');
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(vars)) {
      env[name] =
        value === 'KEY'
          ? serverCert.keyFile
          : value === 'OTHER_CERT'
            ? deviceCert.certFile
            : join(pki.dir, value);
    }
    const failure = await startApp(env).then(
      (started) => {
        app = started;
        throw new Error('the server started');
      },
      (error: { code?: number; output?: string }) => error,
    );
    expect(failure.code).toBe(2);
    expect(failure.output).toMatch(message);
    expect(failure.output).not.toMatch(/\n\s+at /);
  });
});
