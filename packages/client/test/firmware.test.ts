import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import { FirmwareUpdateError } from '../src/index.js';
import { LossySocket } from './lossy-socket.js';
import { MB, OPAQUE, increasing, put, read, start, until } from './firmware-harness.js';
import type { Harness } from './firmware-harness.js';

describe('firmware update: push (Package written with Block1)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.client.close();
    await h.server.close();
  });

  it('takes a 1 MB package in blocks with progress, verifies it, and applies it on Update', async () => {
    h = await start();
    const image = randomBytes(MB);
    expect(await read(h.server, '/5/0/3')).toBe('0');
    const response = await put(h.server, '/5/0/0', image, OPAQUE);
    expect(response.code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.state === 2);

    // One progress event per block (1024 of 1 KiB), growing up to the whole package.
    expect(h.progress.length).toBeGreaterThanOrEqual(1000);
    expect(increasing(h.progress)).toBe(true);
    expect(h.progress.at(-1)).toBe(MB);
    expect(h.states).toEqual([1, 2]);
    expect(h.verified).toHaveLength(1);
    expect(Buffer.compare(h.verified[0]!.image, image)).toBe(0);
    expect(h.verified[0]!.meta).toMatchObject({ delivery: 'push', size: MB });
    expect(await read(h.server, '/5/0/6')).toBe('demo');
    expect(await read(h.server, '/5/0/7')).toBe('2.0.0');

    // Observers of State see Updating, then Idle.
    const observation = await h.server.endpoint.observe(
      { peer: h.server.peer!, method: 'GET', path: '/5/0/3' },
      { timeout: 5000 },
    );
    const seen: string[] = [];
    observation.on('notification', (n) => seen.push(Buffer.from(n.payload).toString()));
    const executed = await h.server.request({ method: 'POST', path: '/5/0/2' });
    expect(executed.code).toBe(CoapCode.CHANGED);
    await until(() => seen.includes('3') && h.client.firmware!.state === 0);
    expect(h.applied).toHaveLength(1);
    expect(Buffer.compare(h.applied[0]!.image, image)).toBe(0);
    expect(h.applied[0]!.meta).toMatchObject({ name: 'demo', version: '2.0.0' });
    expect(await read(h.server, '/5/0/5')).toBe('1');
    // The server talked to the client since the Updating notification, so Idle follows at once
    // even where NON notifications to a silent peer are paced (RFC 7252 §4.7 PROBING_RATE).
    await until(() => seen.includes('0'));
    expect(seen).toEqual(['3', '0']);
    await observation.cancel();
  });

  it('answers 4.13 to a package over maxBodySize and stays Idle', async () => {
    h = await start();
    const response = await put(h.server, '/5/0/0', randomBytes(2 * MB), OPAQUE);
    expect(response.code).toBe(CoapCode.REQUEST_ENTITY_TOO_LARGE);
    expect(h.client.firmware!.state).toBe(0);
    expect(h.states).toEqual([]);
  });

  it('follows the state machine: Update only when Downloaded, resets with an empty Package', async () => {
    h = await start();
    const early = await h.server.request({ method: 'POST', path: '/5/0/2' });
    expect(early.code).toBe(CoapCode.BAD_REQUEST);

    expect((await put(h.server, '/5/0/0', randomBytes(3000), OPAQUE)).code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.state === 2);
    // A second package while one is Downloaded is refused; so is a Package URI.
    expect((await put(h.server, '/5/0/0', randomBytes(100), OPAQUE)).code).toBe(CoapCode.BAD_REQUEST);
    expect((await put(h.server, '/5/0/1', 'http://127.0.0.1/x', 0)).code).toBe(CoapCode.BAD_REQUEST);

    // An empty Package (or a single NUL byte) goes back to Idle and drops the package.
    expect((await put(h.server, '/5/0/0', new Uint8Array([0]), OPAQUE)).code).toBe(CoapCode.CHANGED);
    expect(await read(h.server, '/5/0/3')).toBe('0');
    expect(await read(h.server, '/5/0/5')).toBe('0');
    expect((await h.server.request({ method: 'GET', path: '/5/0/6' })).code).toBe(CoapCode.NOT_FOUND);
    expect((await h.server.request({ method: 'POST', path: '/5/0/2' })).code).toBe(CoapCode.BAD_REQUEST);
    expect(h.applied).toHaveLength(0);
  });

  it('sets Update Result 5 when verify refuses the package, 8 when apply fails', async () => {
    let refuse = true;
    h = await start({
      verify: () => {
        if (refuse) throw new Error('bad signature');
      },
      apply: () => {
        throw new Error('flash write failed');
      },
    });
    await put(h.server, '/5/0/0', randomBytes(2000), OPAQUE);
    await until(() => h.client.firmware!.result === 5);
    expect(h.client.firmware!.state).toBe(0);

    refuse = false;
    await put(h.server, '/5/0/0', randomBytes(2000), OPAQUE);
    await until(() => h.client.firmware!.state === 2);
    expect((await h.server.request({ method: 'POST', path: '/5/0/2' })).code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.result === 8);
    // A failed update keeps the package: the server may execute Update again.
    expect(h.client.firmware!.state).toBe(2);
  });

  it('takes the Update Result of a FirmwareUpdateError thrown by verify', async () => {
    h = await start({
      verify: () => {
        throw new FirmwareUpdateError(6, 'not our hardware');
      },
    });
    await put(h.server, '/5/0/0', randomBytes(500), OPAQUE);
    await until(() => h.client.firmware!.result === 6);
    expect(h.client.firmware!.state).toBe(0);
  });
});

/** A CoAP server on loopback serving one package at /fw/image.bin, through a lossy socket. */
async function packageServer(
  image: Uint8Array,
): Promise<{ endpoint: CoapEndpoint; socket: LossySocket; uri: string }> {
  const socket = new LossySocket(await createUdpSocket({ address: '127.0.0.1' }));
  const endpoint = createCoapEndpoint({
    socket,
    handler: (request) =>
      request.path.join('/') === 'fw/image.bin'
        ? { code: CoapCode.CONTENT, payload: image, contentFormat: OPAQUE }
        : { code: CoapCode.NOT_FOUND },
  });
  return { endpoint, socket, uri: `coap://127.0.0.1:${socket.address().port}/fw/image.bin` };
}

describe('firmware update: pull over CoAP (Block2)', () => {
  let h: Harness;
  let host: Awaited<ReturnType<typeof packageServer>>;
  afterEach(async () => {
    await h.client.close();
    await h.server.close();
    await host.endpoint.close();
    for (const socket of h.sockets) await socket.close();
  });

  it('downloads 1 MB through a lost datagram and a timed-out block, resuming at the last good block', async () => {
    const image = randomBytes(MB);
    host = await packageServer(image);
    // Lose the answer to block 100 once (retransmission covers it), and every answer to block 500
    // for one whole exchange (3 transmissions): the downloader asks for block 500 again.
    let block500Drops = 0;
    host.socket.drop = () => {
      const last = host.socket.blockRequests.at(-1);
      const count = host.socket.blockRequests.filter((n) => n === last).length;
      if (last === 100 && count === 1) return true;
      if (last === 500 && block500Drops < 3) {
        block500Drops++;
        return true;
      }
      return false;
    };
    h = await start();
    expect((await put(h.server, '/5/0/1', host.uri, 0)).code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.state === 2, 20_000);

    expect(host.socket.dropped).toBe(4);
    expect(Buffer.compare(h.verified[0]!.image, image)).toBe(0);
    expect(h.verified[0]!.meta).toMatchObject({ delivery: 'pull', uri: host.uri, size: MB });
    // Never started over (no block 0 after block 1); block 500 asked by a second exchange.
    expect(host.socket.blockRequests.lastIndexOf(0)).toBeLessThan(host.socket.blockRequests.indexOf(1));
    expect(host.socket.blockRequests.filter((n) => n === 500).length).toBeGreaterThanOrEqual(4);
    expect(h.progress.at(-1)).toBe(MB);
    expect(increasing(h.progress)).toBe(true);
    expect(h.states).toEqual([1, 2]);
    expect(await read(h.server, '/5/0/1')).toBe(host.uri);
  }, 30_000);

  it('ends with Update Result 4 when the host stays silent, 7 when it has no such package', async () => {
    host = await packageServer(randomBytes(5000));
    host.socket.drop = () => true;
    h = await start({ attempts: 2 });
    await put(h.server, '/5/0/1', host.uri, 0);
    await until(() => h.client.firmware!.result === 4, 20_000);
    expect(h.client.firmware!.state).toBe(0);

    host.socket.drop = () => false;
    await put(h.server, '/5/0/1', host.uri.replace('image.bin', 'missing.bin'), 0);
    await until(() => h.client.firmware!.result === 7);
    expect(h.client.firmware!.state).toBe(0);
  }, 30_000);

  it('refuses a package larger than maxPackageSize with Update Result 2', async () => {
    host = await packageServer(randomBytes(40_000));
    h = await start({ maxPackageSize: 20_000 });
    await put(h.server, '/5/0/1', host.uri, 0);
    await until(() => h.client.firmware!.result === 2);
    expect(h.client.firmware!.state).toBe(0);
  });
});

describe('firmware update: pull over HTTP', () => {
  let h: Harness;
  let http: Server;
  const requests: IncomingHttpHeaders[] = [];

  afterEach(async () => {
    await h.client.close();
    await h.server.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    requests.length = 0;
  });

  async function serve(
    image: Uint8Array,
    options: { breakAfter?: number; ignoreRange?: boolean } = {},
  ): Promise<string> {
    let broken = false;
    http = createServer((request, response) => {
      requests.push(request.headers);
      if (request.url !== '/fw.bin') {
        response.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      if (range !== null && !options.ignoreRange) {
        const from = Number(range[1]);
        response.writeHead(206, {
          'content-length': image.length - from,
          'content-range': `bytes ${from}-${image.length - 1}/${image.length}`,
          etag: '"v2"',
        });
        response.end(image.subarray(from));
        return;
      }
      response.writeHead(200, { 'content-length': image.length, etag: '"v2"' });
      if (options.breakAfter !== undefined && !broken) {
        broken = true;
        // Send part of the body, then cut the connection.
        response.write(image.subarray(0, options.breakAfter), () => setTimeout(() => response.destroy(), 20));
        return;
      }
      response.end(image);
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    return `http://127.0.0.1:${(http.address() as AddressInfo).port}/fw.bin`;
  }

  it('resumes an interrupted 1 MB download with a Range request', async () => {
    const image = randomBytes(MB);
    const uri = await serve(image, { breakAfter: 300_000 });
    h = await start();
    expect((await put(h.server, '/5/0/1', uri, 0)).code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.state === 2);

    expect(requests).toHaveLength(2);
    expect(requests[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(300_000);
    expect(requests[1]!['if-range']).toBe('"v2"');
    expect(Buffer.compare(h.verified[0]!.image, image)).toBe(0);
    expect(h.progress.at(-1)).toBe(MB);
    expect(increasing(h.progress)).toBe(true);
  });

  it('starts over when the server ignores the Range', async () => {
    const image = randomBytes(200_000);
    const uri = await serve(image, { breakAfter: 50_000, ignoreRange: true });
    h = await start();
    await put(h.server, '/5/0/1', uri, 0);
    await until(() => h.client.firmware!.state === 2);
    expect(Buffer.compare(h.verified[0]!.image, image)).toBe(0);
  });

  it('sets Update Result 7 on 404, 7 on a malformed URI and 9 on an unsupported scheme', async () => {
    const uri = await serve(randomBytes(10));
    h = await start();
    await put(h.server, '/5/0/1', uri.replace('fw.bin', 'nope.bin'), 0);
    await until(() => h.client.firmware!.result === 7);
    expect(h.client.firmware!.state).toBe(0);

    // Errors of the process show in Update Result only: the Write itself succeeds.
    expect((await put(h.server, '/5/0/1', 'not a uri', 0)).code).toBe(CoapCode.CHANGED);
    expect(h.client.firmware!.result).toBe(7);
    await put(h.server, '/5/0/1', '', 0);
    expect(h.client.firmware!.result).toBe(0);
    expect((await put(h.server, '/5/0/1', 'ftp://127.0.0.1/fw.bin', 0)).code).toBe(CoapCode.CHANGED);
    expect(h.client.firmware!.result).toBe(9);
    expect(h.client.firmware!.state).toBe(0);
  });

  it('sets Update Result 4 when the host is unreachable, and Cancel stops a download', async () => {
    const uri = await serve(randomBytes(10));
    const closedPort = (http.address() as AddressInfo).port;
    http.close();
    h = await start({ attempts: 2 });
    await put(h.server, '/5/0/1', `http://127.0.0.1:${closedPort}/fw.bin`, 0);
    await until(() => h.client.firmware!.result === 4);
    expect(h.client.firmware!.state).toBe(0);
    expect(uri).toContain('/fw.bin');
    http = createServer(() => undefined); // never answers
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    await put(h.server, '/5/0/1', `http://127.0.0.1:${(http.address() as AddressInfo).port}/fw.bin`, 0);
    expect(h.client.firmware!.state).toBe(1);
    expect((await h.server.request({ method: 'POST', path: '/5/0/10' })).code).toBe(CoapCode.CHANGED);
    expect(h.client.firmware!.state).toBe(0);
    expect(h.client.firmware!.result).toBe(10);
  });
});
