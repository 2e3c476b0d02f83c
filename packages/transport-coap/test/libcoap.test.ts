import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import {
  CoapCode,
  CoapOptionNumber,
  createCoapEndpoint,
  createRouter,
  createUdpSocket,
  decodeBlock,
  encodeBlock,
} from '../src/index.js';
import type { CoapEndpoint, ServerObservation } from '../src/index.js';
import { freeUdpPort, requireBinary, run, start, stop } from './peers.js';

const CLIENT = 'coap-client-notls';
const SERVER = 'coap-server-notls';
const pattern = (size: number): Buffer =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

describe('libcoap coap-client-notls against our endpoint', () => {
  let endpoint: CoapEndpoint;
  let url: string;
  let stored = Buffer.alloc(0);
  const observations: ServerObservation[] = [];
  const ended: string[] = [];
  const big = pattern(5000);
  let dir: string;

  beforeAll(async () => {
    requireBinary(CLIENT);
    dir = mkdtempSync(join(tmpdir(), 'coap-interop-'));
    const router = createRouter()
      .route('/hello', () => ({ code: CoapCode.CONTENT, payload: 'hello world', contentFormat: 0 }), ['GET'])
      .route('/store', (request) => {
        if (request.method === 'DELETE') {
          stored = Buffer.alloc(0);
          return { code: CoapCode.DELETED };
        }
        if (request.method === 'GET') return { code: CoapCode.CONTENT, payload: stored };
        stored = Buffer.from(request.payload);
        return { code: CoapCode.CHANGED };
      })
      .route(
        '/echo',
        (request) => ({ code: CoapCode.CREATED, payload: `echo:${Buffer.from(request.payload).toString()}` }),
        ['POST'],
      )
      .route('/big', () => ({ code: CoapCode.CONTENT, payload: big }), ['GET'])
      .route('/obs', (request) => {
        if (request.observe === 0) {
          const observation = request.acceptObserve();
          observation.on('cancel', (reason) => ended.push(reason));
          observations.push(observation);
        }
        return { code: CoapCode.CONTENT, payload: 'v0' };
      });
    endpoint = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
      handler: router.handle,
    });
    url = `coap://127.0.0.1:${endpoint.address().port}`;
  });

  /** Runs coap-client with `-o FILE` (stdout gets an extra newline) and returns the body it wrote. */
  let outputs = 0;
  async function client(args: string[], timeoutMs = 10_000): Promise<Buffer> {
    const file = join(dir, `out-${++outputs}`);
    await run(CLIENT, ['-B', '10', '-o', file, ...args], timeoutMs);
    return existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
  }

  afterAll(async () => {
    await endpoint?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('GET', async () => {
    expect((await client(['-m', 'get', `${url}/hello`])).toString()).toBe('hello world');
  });

  it('PUT, GET, DELETE', async () => {
    await run(CLIENT, ['-B', '5', '-m', 'put', '-e', 'stored text', '-t', '0', `${url}/store`], 10_000);
    expect(stored.toString()).toBe('stored text');
    expect((await client(['-m', 'get', `${url}/store`])).toString()).toBe('stored text');
    await run(CLIENT, ['-B', '5', '-m', 'delete', `${url}/store`], 10_000);
    expect(stored.length).toBe(0);
  });

  it('POST with a payload', async () => {
    expect((await client(['-m', 'post', '-e', 'ping', `${url}/echo`])).toString()).toBe('echo:ping');
  });

  it('NON GET', async () => {
    expect((await client(['-N', '-m', 'get', `${url}/hello`])).toString()).toBe('hello world');
  });

  it('100 KB Block1 upload (-b 1024) reassembles the exact bytes', async () => {
    const body = pattern(100 * 1024);
    const file = join(dir, 'upload.bin');
    writeFileSync(file, body);
    await run(CLIENT, ['-B', '20', '-m', 'put', '-b', '1024', '-f', file, `${url}/store`], 30_000);
    expect(stored.length).toBe(body.length);
    expect(stored.equals(body)).toBe(true);
  });

  it('Block1 upload with small blocks (-b 64)', async () => {
    const body = pattern(4096);
    const file = join(dir, 'upload-64.bin');
    writeFileSync(file, body);
    await run(CLIENT, ['-B', '20', '-m', 'put', '-b', '64', '-f', file, `${url}/store`], 30_000);
    expect(stored.equals(body)).toBe(true);
  });

  it('Block2 download, at our block size and at the size the client asks for', async () => {
    expect((await client(['-m', 'get', `${url}/big`], 20_000)).equals(big)).toBe(true);
    expect((await client(['-m', 'get', '-b', '64', `${url}/big`], 20_000)).equals(big)).toBe(true);
  });

  it('observe (-s): receives notifications, then the observation ends', async () => {
    const observer = client(['-s', '3', '-m', 'get', `${url}/obs`], 15_000);
    const deadline = Date.now() + 5000;
    while (observations.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const observation = observations[0]!;
    expect(observation).toBeDefined();
    for (let i = 1; i <= 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await observation.notify({ payload: `v${i}`, confirmable: i === 2 });
    }
    expect((await observer).toString()).toBe('v0v1v2v3');
    // libcoap deregisters (GET Observe=1) or rejects the next notification with Reset.
    if (observation.active)
      await observation.notify({ payload: 'late', confirmable: true }).catch(() => undefined);
    expect(observation.active).toBe(false);
    expect(['deregistered', 'reset']).toContain(ended[0]);
  });
});

describe('our endpoint against libcoap coap-server-notls', () => {
  let server: ChildProcess | undefined;
  let endpoint: CoapEndpoint;
  let peer: { address: string; port: number };

  beforeAll(async () => {
    requireBinary(SERVER);
    const port = await freeUdpPort();
    server = start(SERVER, ['-A', '127.0.0.1', '-p', String(port)]);
    peer = { address: '127.0.0.1', port };
    endpoint = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
      transmission: { ackTimeout: 200, maxRetransmit: 2 },
    });
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await endpoint.ping(peer, { timeout: 1000 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  });

  afterAll(async () => {
    await endpoint?.close();
    await stop(server);
  });

  it('GET /.well-known/core returns link-format', async () => {
    const response = await endpoint.request(
      { peer, method: 'GET', path: '/.well-known/core' },
      { timeout: 5000 },
    );
    expect(response.code).toBe(CoapCode.CONTENT);
    expect(response.contentFormat).toBe(40);
    expect(Buffer.from(response.payload).toString()).toContain('</time>');
  });

  it('GET an unknown resource gives 4.04', async () => {
    const response = await endpoint.request(
      { peer, method: 'GET', path: '/nothing/here' },
      { timeout: 5000 },
    );
    expect(response.code).toBe(CoapCode.NOT_FOUND);
  });

  it('PUT then GET /example_data, small and block-wise in both directions', async () => {
    const put = await endpoint.request(
      { peer, method: 'PUT', path: '/example_data', payload: 'small', contentFormat: 0 },
      { timeout: 5000 },
    );
    expect(put.code >> 5).toBe(2);
    const get = await endpoint.request({ peer, method: 'GET', path: '/example_data' }, { timeout: 5000 });
    expect(Buffer.from(get.payload).toString()).toBe('small');

    const body = pattern(3000);
    const bigPut = await endpoint.request(
      { peer, method: 'PUT', path: '/example_data', payload: body, blockSize: 64 },
      { timeout: 20_000 },
    );
    expect(bigPut.code >> 5).toBe(2);
    const bigGet = await endpoint.request(
      { peer, method: 'GET', path: '/example_data', blockSize: 64 },
      { timeout: 20_000 },
    );
    expect(Buffer.from(bigGet.payload).equals(body)).toBe(true);
    const bigGetDefault = await endpoint.request(
      { peer, method: 'GET', path: '/example_data' },
      { timeout: 20_000 },
    );
    expect(Buffer.from(bigGetDefault.payload).equals(body)).toBe(true);
  });

  it('fetches one Block2 block of /example_data by number (random access, RFC 7959 §2.4)', async () => {
    const body = pattern(3000);
    const put = await endpoint.request(
      { peer, method: 'PUT', path: '/example_data', payload: body, blockSize: 256 },
      { timeout: 20_000 },
    );
    expect(put.code >> 5).toBe(2);
    const block = await endpoint.request(
      {
        peer,
        method: 'GET',
        path: '/example_data',
        options: [{ number: CoapOptionNumber.BLOCK2, value: encodeBlock({ num: 7, more: false, szx: 2 }) }],
      },
      { timeout: 5000 },
    );
    expect(block.code).toBe(CoapCode.CONTENT);
    const option = block.options.find((o) => o.number === CoapOptionNumber.BLOCK2);
    expect(option === undefined ? undefined : decodeBlock(option.value)).toEqual({
      num: 7,
      more: true,
      szx: 2,
    });
    expect(Buffer.from(block.payload).equals(body.subarray(7 * 64, 8 * 64))).toBe(true);
  });

  it('observes /time and cancels', async () => {
    const observation = await endpoint.observe({ peer, method: 'GET', path: '/time' }, { timeout: 5000 });
    expect(observation.active).toBe(true);
    const values: string[] = [];
    for await (const notification of observation) {
      values.push(Buffer.from(notification.payload).toString());
      if (values.length === 2) break;
    }
    expect(values).toHaveLength(2);
    expect(observation.active).toBe(false);
  }, 15_000);
});
