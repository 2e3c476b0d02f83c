/**
 * The DTLS record path alone, in one process and without the kernel: a DTLS-PSK CCM_8 server and
 * client joined by an in-memory datagram pair, and a request/response loop (51-byte request,
 * 45-byte response, the sizes of dtls.bench.ts's CoAP messages) driven synchronously. Reports the
 * CPU time per request of both sides together: seal, open, replay window, session lookup, events.
 * The socket calls and the CoAP layer, which NoSec pays as well, are not in it, and a busy machine
 * changes it far less than the two-process benchmark.
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_REQUESTS per round (default 50000). Prints JSON.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { CipherSuite, connectDtls, createDtlsServer } from '../src/index.js';
import { BENCH_IDENTITY, BENCH_KEY } from './bench-credentials.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const requests = Number(process.env['BENCH_REQUESTS'] ?? 50_000);
const REQUEST = new Uint8Array(51).fill(0x61);
const RESPONSE = new Uint8Array(45).fill(0x62);
const ciphers = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];

/**
 * The part of a node:dgram socket the DTLS server and client use. Datagrams go to the other end's
 * inbox, delivered asynchronously during the handshake and by `flush()` in the timed loop.
 */
class MemorySocket extends EventEmitter {
  other: MemorySocket | undefined;
  synchronous = false;
  private readonly inbox: Buffer[] = [];

  constructor(private readonly port: number) {
    super();
  }

  address(): { address: string; port: number; family: string } {
    return { address: '127.0.0.1', port: this.port, family: 'IPv4' };
  }

  send(data: Uint8Array, _port: number, _address: string, callback?: () => void): void {
    const to = this.other!;
    // A copy, as the kernel makes one: the receiver gets its own buffer.
    const datagram = Buffer.from(data);
    if (this.synchronous) to.inbox.push(datagram);
    else setImmediate(() => to.deliver(datagram, this.port));
    if (callback !== undefined) setImmediate(callback);
  }

  flush(): void {
    for (let d = this.inbox.shift(); d !== undefined; d = this.inbox.shift())
      this.deliver(d, this.other!.port);
  }

  close(callback?: () => void): void {
    callback?.();
  }

  private deliver(datagram: Buffer, fromPort: number): void {
    const rinfo: RemoteInfo = { address: '127.0.0.1', port: fromPort, family: 'IPv4', size: datagram.length };
    this.emit('message', datagram, rinfo);
  }
}

async function main(): Promise<void> {
  const serverSocket = new MemorySocket(5684);
  const clientSocket = new MemorySocket(40000);
  serverSocket.other = clientSocket;
  clientSocket.other = serverSocket;
  const server = createDtlsServer({
    socket: serverSocket as unknown as Socket,
    ciphers,
    psk: { lookup: async (identity) => (identity === BENCH_IDENTITY ? BENCH_KEY : undefined) },
  });
  await server.listen();
  const client = await connectDtls({
    socket: clientSocket as unknown as Socket,
    peer: { address: '127.0.0.1', port: 5684 },
    psk: { identity: BENCH_IDENTITY, key: BENCH_KEY },
    ciphers,
  });
  // What a CoAP endpoint does per request on each side: ask the room for a payload, send, receive.
  server.on('message', (m) => {
    server.maxDatagramSize(m.peer);
    server.sendNow(RESPONSE, m.peer);
  });
  let answered = 0;
  client.on('message', () => answered++);
  serverSocket.synchronous = true;
  clientSocket.synchronous = true;
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) {
      client.maxDatagramSize();
      client.sendNow(REQUEST);
      serverSocket.flush();
      clientSocket.flush();
    }
  };
  run(requests); // warm-up: JIT
  const perRequest: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    run(requests);
    const used = process.cpuUsage(start);
    perRequest.push(Math.round(((used.user + used.system) / requests) * 100) / 100);
  }
  if (answered !== requests * (rounds + 1))
    throw new Error(`${answered} responses for ${requests * (rounds + 1)} requests`);
  const sorted = [...perRequest].sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        setup: {
          cipherSuite: 'TLS_PSK_WITH_AES_128_CCM_8',
          rounds,
          requests,
          requestBytes: 51,
          responseBytes: 45,
        },
        // Both sides: client seal + server open + server seal + client open, plus the in-memory copy.
        cpuUsPerRequestBothSides: sorted[sorted.length >> 1],
        rounds: perRequest,
      },
      null,
      2,
    ),
  );
  await client.close();
  await server.close();
}

void main();
