import type { ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CoapCode, createCoapEndpoint } from '@lwm2m/transport-coap';
import type { CoapEndpoint, IncomingRequest } from '@lwm2m/transport-coap';
import { connectDtls } from '@lwm2m/transport-dtls';
import type { EcdsaClientOptions } from '@lwm2m/transport-dtls';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import { startApp as startAppProcess, stopApp } from '@lwm2m/app-kit/testing';
import type { LogEntry } from '@lwm2m/app-kit/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';

const ROOT = join(__dirname, '..', '..', '..');

// Each test starts the app in a process (tsx compiles it first): slower than the default on a busy machine.
jest.setTimeout(60_000);

interface Started {
  readonly child: ChildProcess;
  readonly coaps: number;
}

/** Where an app logs its DTLS port once it is ready. */
type ListeningLine = (entry: LogEntry) => number | undefined;

const bootstrapListening: ListeningLine = (entry) =>
  entry.msg === 'bootstrap server listening' && typeof entry['coaps'] === 'object' && entry['coaps'] !== null
    ? (entry['coaps'] as { port?: number }).port
    : undefined;

const serverListening: ListeningLine = (entry) =>
  entry.msg === 'listening' && typeof entry['coaps'] === 'number' ? entry['coaps'] : undefined;

/** Runs an app until it logs that it listens, or until it exits (then with its output). */
async function startApp(
  env: Record<string, string>,
  app = 'bootstrap',
  listening = bootstrapListening,
): Promise<Started> {
  const { child, ready } = await startAppProcess({
    appDir: join(ROOT, 'apps', app),
    env: {
      LWM2M_BS_HOST: '127.0.0.1',
      LWM2M_BS_PORT: '0',
      LWM2M_BS_DTLS_PORT: '0',
      LWM2M_HOST: '127.0.0.1',
      LWM2M_COAP_PORT: '0',
      LWM2M_COAPS_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    ready: listening,
  });
  return { child, coaps: ready };
}

const stop = stopApp;

const hex = (bytes: Buffer): string => bytes.toString('hex');
const spkiHex = (keyPem: Buffer): string =>
  hex(createPublicKey(keyPem).export({ type: 'spki', format: 'der' }));
const pkcs8Hex = (keyPem: Buffer): string =>
  hex(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }));
const certHex = (certPem: Buffer): string => hex(new X509Certificate(certPem).raw);

/** The bootstrap app with LWM2M_DTLS_KEY/CERT/CA and a config file of rpk and x509 bootstrap accounts. */
describe('bootstrap app over DTLS with certificates and raw public keys', () => {
  let pki: TestPki;
  let serverCa: Issued;
  let deviceCa: Issued;
  let serverCert: Issued;
  let deviceCert: Issued;
  let rpkDevice: { keyFile: string; key: Buffer };
  let stranger: { keyFile: string; key: Buffer };
  /** A device bootstrapped with one raw key and given another for the LwM2M server. */
  let chainBs: { keyFile: string; key: Buffer };
  let chainDm: { keyFile: string; key: Buffer };
  let configFile: string;
  let app: Started | undefined;
  let lwm2m: Started | undefined;
  const clients: CoapEndpoint[] = [];

  beforeAll(() => {
    pki = createTestPki();
    serverCa = pki.ca('server-ca');
    deviceCa = pki.ca('device-ca');
    serverCert = pki.issue('localhost', serverCa, { san: 'DNS:localhost,IP:127.0.0.1' });
    deviceCert = pki.issue('x509-dev', deviceCa);
    rpkDevice = pki.key('rpk-dev');
    stranger = pki.key('stranger');
    chainBs = pki.key('chain-bs');
    chainDm = pki.key('chain-dm');
    const server = [{ uri: 'coap://127.0.0.1:5683', ssid: 1, mode: 'nosec' }];
    configFile = join(pki.dir, 'bootstrap-configs.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        endpoints: {
          'x509-dev': {
            security: [
              {
                uri: 'coaps://127.0.0.1:5784',
                bootstrap: true,
                mode: 'x509',
                certificate: certHex(deviceCert.cert),
                privateKey: pkcs8Hex(deviceCert.key),
                serverCertificate: certHex(serverCa.cert),
              },
              ...server,
            ],
            servers: [{ ssid: 1, lifetime: 60 }],
          },
          'rpk-dev': {
            security: [
              {
                uri: 'coaps://127.0.0.1:5784',
                bootstrap: true,
                mode: 'rpk',
                publicKey: spkiHex(rpkDevice.key),
                privateKey: pkcs8Hex(rpkDevice.key),
                serverPublicKey: spkiHex(serverCert.key),
              },
              ...server,
            ],
            servers: [{ ssid: 1, lifetime: 60 }],
          },
          'chain-dev': {
            security: [
              {
                uri: 'coaps://127.0.0.1:5784',
                bootstrap: true,
                mode: 'rpk',
                publicKey: spkiHex(chainBs.key),
                privateKey: pkcs8Hex(chainBs.key),
                serverPublicKey: spkiHex(serverCert.key),
              },
              {
                uri: 'coaps://127.0.0.1:5684',
                ssid: 1,
                mode: 'rpk',
                publicKey: spkiHex(chainDm.key),
                privateKey: pkcs8Hex(chainDm.key),
                serverPublicKey: spkiHex(serverCert.key),
              },
            ],
            servers: [{ ssid: 1, lifetime: 60 }],
          },
        },
      }),
    );
  });

  afterAll(() => pki.remove());

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await stop(app?.child);
    await stop(lwm2m?.child);
    app = undefined;
    lwm2m = undefined;
  });

  /** Sends a Bootstrap-Request; resolves its code and the first request the server sent back, if any. */
  async function requestBootstrap(
    port: number,
    endpoint: string,
    ecdsa: EcdsaClientOptions,
  ): Promise<{ code: string; first: Promise<string> }> {
    const peer = { address: '127.0.0.1', port };
    const connection = await connectDtls({ peer, localAddress: '127.0.0.1', timeout: 10_000, ecdsa });
    let seen: (request: string) => void = () => undefined;
    const first = new Promise<string>((resolve) => (seen = resolve));
    const client = createCoapEndpoint({
      socket: connection,
      handler: (request: IncomingRequest) => {
        seen(`${request.method} /${request.path.join('/')}`);
        return { code: CoapCode.NOT_FOUND };
      },
    });
    clients.push(client);
    const response = await client.request({ peer, method: 'POST', path: '/bs', query: [`ep=${endpoint}`] });
    return { code: `${response.code >> 5}.${String(response.code & 0x1f).padStart(2, '0')}`, first };
  }

  it('bootstraps rpk and x509 accounts over ECDHE and refuses another identity with 4.03', async () => {
    app = await startApp({
      LWM2M_BS_CONFIG: configFile,
      LWM2M_DTLS_KEY: serverCert.keyFile,
      LWM2M_DTLS_CERT: serverCert.certFile,
      LWM2M_DTLS_CA: deviceCa.certFile,
    });
    const trust = { trustAnchors: serverCa.certFile, hostname: '127.0.0.1' };
    const x509 = await requestBootstrap(app.coaps, 'x509-dev', {
      ...trust,
      key: deviceCert.keyFile,
      certificate: deviceCert.certFile,
    });
    expect(x509.code).toBe('2.04');
    // The session starts: Discover (or the first Delete/Write) comes back over the same session.
    await expect(x509.first).resolves.toMatch(/^(GET|DELETE|PUT) \//);
    const rpk = await requestBootstrap(app.coaps, 'rpk-dev', { ...trust, key: rpkDevice.keyFile });
    expect(rpk.code).toBe('2.04');
    await expect(rpk.first).resolves.toMatch(/^(GET|DELETE|PUT) \//);

    expect((await requestBootstrap(app.coaps, 'rpk-dev', { ...trust, key: stranger.keyFile })).code).toBe(
      '4.03',
    );
    expect(
      (
        await requestBootstrap(app.coaps, 'rpk-dev', {
          ...trust,
          key: deviceCert.keyFile,
          certificate: deviceCert.certFile,
        })
      ).code,
    ).toBe('4.03');
    expect((await requestBootstrap(app.coaps, 'x509-dev', { ...trust, key: rpkDevice.keyFile })).code).toBe(
      '4.03',
    );
  });

  it('puts the server account into the Redis security store the server app shares, which then accepts the device', async () => {
    const prefix = `lwm2m-test:bs-${randomBytes(4).toString('hex')}:`;
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    try {
      const shared = {
        LWM2M_REDIS_URL: 'redis://127.0.0.1:6379',
        LWM2M_REDIS_PREFIX: prefix,
        LWM2M_DTLS_KEY: serverCert.keyFile,
        LWM2M_DTLS_CERT: serverCert.certFile,
      };
      app = await startApp({ ...shared, LWM2M_BS_CONFIG: configFile });
      lwm2m = await startApp(shared, 'server', serverListening);
      const trust = { trustAnchors: serverCa.certFile, hostname: '127.0.0.1' };
      const register = async (key: string): Promise<string> => {
        const peer = { address: '127.0.0.1', port: lwm2m!.coaps };
        const connection = await connectDtls({
          peer,
          localAddress: '127.0.0.1',
          timeout: 10_000,
          ecdsa: { ...trust, key },
        });
        const client = createCoapEndpoint({
          socket: connection,
          handler: () => ({ code: CoapCode.NOT_FOUND }),
        });
        clients.push(client);
        const response = await client.request({
          peer,
          method: 'POST',
          path: '/rd',
          query: ['ep=chain-dev'],
          payload: '</3/0>',
          contentFormat: 40,
        });
        return `${response.code >> 5}.${String(response.code & 0x1f).padStart(2, '0')}`;
      };
      // Before bootstrap the server knows nothing of the device: an unknown secure endpoint is refused.
      expect(await register(chainDm.keyFile)).toBe('4.03');
      expect((await requestBootstrap(app.coaps, 'chain-dev', { ...trust, key: chainBs.keyFile })).code).toBe(
        '2.04',
      );
      expect(await register(chainDm.keyFile)).toBe('2.01');
      expect(await register(chainBs.keyFile)).toBe('4.03');
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('offers its raw public key without LWM2M_DTLS_CERT', async () => {
    app = await startApp({ LWM2M_BS_CONFIG: configFile, LWM2M_DTLS_KEY: serverCert.keyFile });
    const serverSpki = createPublicKey(serverCert.key).export({ type: 'spki', format: 'der' });
    const pinned = { verifyRawPublicKey: (spki: Uint8Array) => Buffer.from(spki).equals(serverSpki) };
    expect((await requestBootstrap(app.coaps, 'rpk-dev', { ...pinned, key: rpkDevice.keyFile })).code).toBe(
      '2.04',
    );
  });

  it.each([
    [
      'a key file that is no key',
      { LWM2M_DTLS_KEY: 'bootstrap-configs.json' },
      /LWM2M_DTLS_KEY \(.*bootstrap-configs\.json\): /,
    ],
    ['a CA without a key', { LWM2M_DTLS_CA: 'CA' }, /LWM2M_DTLS_CERT and LWM2M_DTLS_CA need LWM2M_DTLS_KEY/],
    ['a config file that is not JSON', { LWM2M_BS_CONFIG: 'not-json.json' }, /not JSON/],
  ])('exits with a clear error on %s', async (_name, vars, message) => {
    writeFileSync(join(pki.dir, 'not-json.json'), '{');
    const env: Record<string, string> = { LWM2M_BS_CONFIG: configFile };
    for (const [name, value] of Object.entries(vars))
      env[name] = value === 'CA' ? deviceCa.certFile : join(pki.dir, value);
    const failure = await startApp(env).then(
      (started) => {
        app = started;
        throw new Error('the bootstrap server started');
      },
      (error: { code?: number; output?: string }) => error,
    );
    expect(failure.code).toBe(2);
    expect(failure.output).toMatch(message);
    expect(failure.output).not.toMatch(/\n\s+at /);
  });
});
