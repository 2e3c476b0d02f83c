/**
 * Firmware pull over HTTPS. The global fetch trusts only the system's CAs, so a device with its
 * own CA hands the client a fetch that trusts it (`firmware.fetch`); these tests use such a fetch
 * on node:https and check that an untrusted server certificate fails the download cleanly.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, request } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';
import { MB, increasing, put, start, until } from './firmware-harness.js';
import type { Harness } from './firmware-harness.js';

/** A fetch on node:https that trusts `ca`: what a device with a private package server would pass. */
function fetchTrusting(ca: Buffer): typeof globalThis.fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const headers = new Headers(init?.headers);
      const req = request(
        url,
        { ca, headers: Object.fromEntries(headers), ...(init?.signal ? { signal: init.signal } : {}) },
        (res) => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            if (typeof value === 'string') responseHeaders.set(name, value);
          resolve(
            new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, {
              status: res.statusCode ?? 500,
              headers: responseHeaders,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
}

describe('firmware update: pull over HTTPS', () => {
  let pki: TestPki;
  let ca: Issued;
  let site: Issued;
  let h: Harness | undefined;
  let https: Server | undefined;
  const requests: IncomingHttpHeaders[] = [];

  beforeAll(() => {
    pki = createTestPki();
    ca = pki.ca('fota-ca');
    site = pki.issue('fota.local', ca, { san: 'IP:127.0.0.1' });
  });

  afterAll(() => pki.remove());

  afterEach(async () => {
    await h?.client.close();
    await h?.server.close();
    https?.closeAllConnections();
    if (https !== undefined) await new Promise((resolve) => https!.close(resolve));
    requests.length = 0;
  });

  /** Serves `image` over TLS, cutting the first response after `breakAfter` bytes; honours Range. */
  async function serve(image: Uint8Array, breakAfter?: number): Promise<string> {
    let broken = false;
    https = createServer({ key: site.key, cert: site.cert }, (req, res) => {
      requests.push(req.headers);
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range !== null) {
        const from = Number(range[1]);
        res.writeHead(206, {
          'content-length': image.length - from,
          'content-range': `bytes ${from}-${image.length - 1}/${image.length}`,
          etag: '"tls"',
        });
        res.end(image.subarray(from));
        return;
      }
      res.writeHead(200, { 'content-length': image.length, etag: '"tls"' });
      if (breakAfter !== undefined && !broken) {
        broken = true;
        res.write(image.subarray(0, breakAfter), () => setTimeout(() => res.destroy(), 20));
        return;
      }
      res.end(image);
    });
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    return `https://127.0.0.1:${(https.address() as AddressInfo).port}/fw.bin`;
  }

  it('downloads 1 MB over TLS with progress, resumes after a cut with Range, verifies and installs', async () => {
    const image = randomBytes(MB);
    const uri = await serve(image, 400_000);
    h = await start({ fetch: fetchTrusting(ca.cert) });
    await put(h.server, '/5/0/1', uri, 0);
    await until(() => h!.client.firmware!.state === 2);
    expect(Buffer.compare(h.verified[0]!.image, image)).toBe(0);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(h.progress.at(-1)).toBe(MB);
    expect(increasing(h.progress)).toBe(true);
  });

  it('refuses a server whose certificate it cannot verify: Update Result 4, back to Idle, no package', async () => {
    const uri = await serve(randomBytes(1000));
    // The default fetch does not know the test CA.
    h = await start({ attempts: 2 });
    await put(h.server, '/5/0/1', uri, 0);
    await until(() => h!.client.firmware!.result === 4);
    expect(h.client.firmware!.state).toBe(0);
    expect(h.verified).toHaveLength(0);
    expect(requests).toHaveLength(0);
  });
});
