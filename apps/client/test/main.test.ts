/**
 * The client app against the server app, both as processes from their sources, with DTLS
 * certificates and raw public keys made by openssl as a user would: the client's account comes
 * from the environment, the server checks the identity against its security file.
 */
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startApp, stopApp } from '@lwm2m/app-kit/testing';
import type { LogEntry } from '@lwm2m/app-kit/testing';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';

const APPS = join(__dirname, '..', '..');

// Two app processes per test, each compiled by tsx first.
jest.setTimeout(60_000);

describe('client app → server app over ECDHE-ECDSA', () => {
  let pki: TestPki;
  let ca: Issued;
  let serverCert: Issued;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    pki = createTestPki();
    ca = pki.ca('apps-ca');
    serverCert = pki.issue('lwm2m-server', ca, { san: 'IP:127.0.0.1' });
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await stopApp(child);
  });

  afterAll(() => pki.remove());

  async function server(securityEntries: unknown[]): Promise<number> {
    const securityFile = join(pki.dir, `security-${Date.now()}.json`);
    writeFileSync(securityFile, JSON.stringify(securityEntries));
    const { child, ready } = await startApp({
      appDir: join(APPS, 'server'),
      env: {
        LWM2M_HOST: '127.0.0.1',
        LWM2M_COAP_PORT: '0',
        LWM2M_COAPS_PORT: '0',
        LWM2M_DTLS_KEY: serverCert.keyFile,
        LWM2M_DTLS_CERT: serverCert.certFile,
        LWM2M_DTLS_CA: ca.certFile,
        LWM2M_SECURITY_FILE: securityFile,
        LOG_LEVEL: 'info',
      },
      ready: (entry) =>
        entry.msg === 'listening' && typeof entry['coaps'] === 'number' ? entry['coaps'] : undefined,
    });
    children.push(child);
    return ready;
  }

  /** The client app until it logs `registered` (resolves with that entry) or `registration failed`. */
  async function client(env: Record<string, string>): Promise<LogEntry> {
    const { child, ready } = await startApp({
      appDir: join(APPS, 'client'),
      env: { LWM2M_LIFETIME: '60', LOG_LEVEL: 'info', ...env },
      ready: (entry) =>
        entry.msg === 'registered' || entry.msg === 'registration failed' ? entry : undefined,
    });
    children.push(child);
    return ready;
  }

  it('registers with a device certificate, checking the server against the CA (usage 2)', async () => {
    const device = pki.issue('app-x509-device', ca);
    const port = await server([{ endpoint: 'app-x509-device', mode: 'x509' }]);
    const entry = await client({
      LWM2M_SERVER_URI: `coaps://127.0.0.1:${port}`,
      LWM2M_ENDPOINT: 'app-x509-device',
      LWM2M_DTLS_KEY: device.keyFile,
      LWM2M_DTLS_CERT: device.certFile,
      LWM2M_SERVER_CERT: ca.certFile,
      LWM2M_CERT_USAGE: '2',
    });
    expect(entry).toMatchObject({ msg: 'registered', ssid: 1 });
  });

  it('registers with a raw public key the server has on file, and is refused with another one', async () => {
    const deviceKey = pki.key('app-rpk-device');
    const serverPublicKey = join(pki.dir, 'server.pub.pem');
    writeFileSync(serverPublicKey, createPublicKey(serverCert.key).export({ type: 'spki', format: 'pem' }));
    const port = await server([{ endpoint: 'app-rpk-device', mode: 'rpk', publicKey: deviceKey.keyFile }]);
    const common = {
      LWM2M_SERVER_URI: `coaps://127.0.0.1:${port}`,
      LWM2M_ENDPOINT: 'app-rpk-device',
      LWM2M_SERVER_PUBLIC_KEY: serverPublicKey,
    };
    expect(await client({ ...common, LWM2M_DTLS_KEY: deviceKey.keyFile })).toMatchObject({
      msg: 'registered',
    });
    const other = pki.key('app-rpk-other');
    const refused = await client({ ...common, LWM2M_DTLS_KEY: other.keyFile });
    expect(refused).toMatchObject({ msg: 'registration failed' });
    expect(String(refused['err'])).toMatch(/4\.03/);
  });
});
