import { Agent, createServer, globalAgent, globalAgentIPv6 } from 'coap';
import type { IncomingMessage, OutgoingMessage, Server } from 'coap';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '../src/index.js';
import type { CoapEndpoint, ServerObservation } from '../src/index.js';
import { freeUdpPort } from './peers.js';

describe('node-coap (the `coap` package) as a second peer', () => {
  let endpoint: CoapEndpoint;
  let server: Server;
  let serverPort: number;
  let agent: Agent;
  const observations: ServerObservation[] = [];

  beforeAll(async () => {
    endpoint = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
      handler: (request) => {
        if (request.path[0] === 'obs' && request.observe === 0) {
          observations.push(request.acceptObserve());
          return { code: CoapCode.CONTENT, payload: 'n0' };
        }
        if (request.path[0] === 'big') return { code: CoapCode.CONTENT, payload: Buffer.alloc(3000, 0x61) };
        return {
          code: CoapCode.CONTENT,
          payload: `${request.method} /${request.path.join('/')} ${Buffer.from(request.payload).toString()}`,
        };
      },
    });
    serverPort = await freeUdpPort();
    server = createServer({ type: 'udp4' }, (req: IncomingMessage, res: OutgoingMessage) => {
      if (req.url === '/clock' && req.headers['Observe'] === 0) {
        let n = 0;
        const write = (): void => {
          if (n < 3) {
            res.write(`tick ${n++}`);
            setTimeout(write, 50);
          }
        };
        write();
        return;
      }
      res.end(`${req.method} ${req.url} ${req.payload.toString()}`);
    });
    await new Promise<void>((resolve) => server.listen(serverPort, '127.0.0.1', () => resolve()));
    agent = new Agent({ type: 'udp4' });
  });

  afterAll(async () => {
    agent?.close();
    // node-coap opens its global agents' sockets on import.
    globalAgent.close();
    globalAgentIPv6.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await endpoint?.close();
  });

  function nodeCoapRequest(options: Record<string, unknown>, payload?: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = agent.request({ hostname: '127.0.0.1', port: endpoint.address().port, ...options });
      request.on('response', resolve);
      request.on('error', reject);
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }

  it('node-coap requests our endpoint (GET, POST with payload)', async () => {
    const get = await nodeCoapRequest({ pathname: '/a/b', method: 'GET' });
    expect(get.code).toBe('2.05');
    expect(get.payload.toString()).toBe('GET /a/b ');
    const post = await nodeCoapRequest({ pathname: '/c', method: 'POST' }, 'body');
    expect(post.payload.toString()).toBe('POST /c body');
  });

  it('node-coap downloads a Block2 body from our endpoint', async () => {
    const response = await nodeCoapRequest({ pathname: '/big', method: 'GET' });
    expect(response.payload.equals(Buffer.alloc(3000, 0x61))).toBe(true);
  });

  it('node-coap observes our endpoint', async () => {
    const request = agent.request({
      hostname: '127.0.0.1',
      port: endpoint.address().port,
      pathname: '/obs',
      observe: true,
    });
    const values: string[] = [];
    const done = new Promise<void>((resolve) => {
      request.on('response', (stream: NodeJS.ReadableStream & { close(): void }) => {
        stream.on('data', (chunk: Buffer) => {
          values.push(chunk.toString());
          if (values.length === 3) {
            stream.close();
            resolve();
          }
        });
      });
    });
    request.end();
    while (observations.length === 0) await new Promise((r) => setTimeout(r, 10));
    await observations[0]!.notify({ payload: 'n1' });
    await observations[0]!.notify({ payload: 'n2', confirmable: true });
    await done;
    expect(values).toEqual(['n0', 'n1', 'n2']);
  });

  it('our endpoint requests the node-coap server', async () => {
    const peer = { address: '127.0.0.1', port: serverPort };
    const get = await endpoint.request({ peer, method: 'GET', path: '/x/y' }, { timeout: 5000 });
    expect(get.code).toBe(CoapCode.CONTENT);
    expect(Buffer.from(get.payload).toString()).toBe('GET /x/y ');
    const put = await endpoint.request(
      { peer, method: 'PUT', path: '/z', payload: 'data' },
      { timeout: 5000 },
    );
    expect(Buffer.from(put.payload).toString()).toBe('PUT /z data');
  });

  it('our endpoint observes the node-coap server', async () => {
    const peer = { address: '127.0.0.1', port: serverPort };
    const observation = await endpoint.observe({ peer, method: 'GET', path: '/clock' }, { timeout: 5000 });
    const values: string[] = [];
    for await (const notification of observation) {
      values.push(Buffer.from(notification.payload).toString());
      if (values.length === 3) break;
    }
    expect(values).toEqual(['tick 0', 'tick 1', 'tick 2']);
  });
});
