/**
 * Simulated LwM2M clients for server.bench.ts, run as a child process so they do not share the
 * server's event loop. Each round the parent sends `{ port, clients, prefix }`: `clients` distinct
 * endpoints each send one Register (CON POST /rd, NoSec; 16 payload variants) spread over SOCKETS UDP sockets, each
 * socket keeping WINDOW requests in flight; unanswered requests are sent again after a second.
 * The messages are built before the clock starts and answers are matched by message id, so the
 * clients cost little CPU next to the server. Replies `{ elapsedMs, created, failed, resent, clientCpuUs }`.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { CoapType, code, CoapOptionNumber, serializeMessage, stringOption } from '@lwm2m/transport-coap';

const SOCKETS = Number(process.env['BENCH_SOCKETS'] ?? 32);
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 4);
const RESEND_MS = 1000;
const HOST = '127.0.0.1';
/**
 * A fleet of one device model does not send one identical payload: client i has i % 16 + 1
 * temperature sensors, so the server sees 16 different payloads.
 */
const PAYLOAD_VARIANTS = 16;
function objectLinks(client: number): string {
  const sensors = Array.from({ length: (client % PAYLOAD_VARIANTS) + 1 }, (_, k) => `</3303/${k}>`).join(',');
  return `</>;rt="oma.lwm2m";ct="60 110 112",</1/0>,</3/0>,${sensors}`;
}
const CREATED = code(2, 1);

export interface RoundRequest {
  readonly port: number;
  readonly clients: number;
  readonly prefix: string;
}

export interface RoundResult {
  readonly elapsedMs: number;
  readonly created: number;
  readonly failed: number;
  readonly resent: number;
  /** CPU µs this (client) process spent per Register. */
  readonly clientCpuUs: number;
}

function registerMessage(endpoint: string, client: number, messageId: number): Uint8Array {
  const token = new Uint8Array(4);
  new DataView(token.buffer).setUint32(0, messageId);
  return serializeMessage({
    type: CoapType.CON,
    code: code(0, 2),
    messageId,
    token,
    options: [
      stringOption(CoapOptionNumber.URI_PATH, 'rd'),
      { number: CoapOptionNumber.CONTENT_FORMAT, value: Uint8Array.of(40) },
      stringOption(CoapOptionNumber.URI_QUERY, `ep=${endpoint}`),
      stringOption(CoapOptionNumber.URI_QUERY, 'lt=300'),
      stringOption(CoapOptionNumber.URI_QUERY, 'lwm2m=1.1'),
      stringOption(CoapOptionNumber.URI_QUERY, 'b=U'),
    ],
    payload: new TextEncoder().encode(objectLinks(client)),
  });
}

async function openSockets(): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: SOCKETS },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = createSocket('udp4');
          socket.bind(0, HOST, () => resolve(socket));
        }),
    ),
  );
}

async function round(sockets: Socket[], request: RoundRequest, messageIdBase: number): Promise<RoundResult> {
  // Client i sends from socket i % SOCKETS with message id base + i / SOCKETS.
  const perSocket = sockets.map((_, s) => {
    const messages: Uint8Array[] = [];
    for (let i = s; i < request.clients; i += SOCKETS) {
      messages.push(registerMessage(`${request.prefix}-${i}`, i, (messageIdBase + messages.length) & 0xffff));
    }
    return messages;
  });
  let created = 0;
  let failed = 0;
  let resent = 0;
  let finished = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  return new Promise<RoundResult>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const done = (): void => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.removeAllListeners('message');
      const used = process.cpuUsage(cpu);
      const clientCpuUs = Math.round(((used.user + used.system) / request.clients) * 10) / 10;
      resolve({ elapsedMs: performance.now() - start, created, failed, resent, clientCpuUs });
    };
    sockets.forEach((socket, s) => {
      const messages = perSocket[s] as Uint8Array[];
      /** Index into `messages` by message id offset, with the time it was (last) sent. */
      const outstanding = new Map<number, number>();
      let next = 0;
      const send = (index: number): void => {
        outstanding.set(index, performance.now());
        socket.send(messages[index] as Uint8Array, request.port, HOST);
      };
      const fill = (): void => {
        while (outstanding.size < WINDOW && next < messages.length) send(next++);
        if (outstanding.size === 0 && next >= messages.length && ++finished === sockets.length) done();
      };
      socket.on('message', (data) => {
        if (data.length < 4 || (((data[0] as number) >> 4) & 0b11) !== CoapType.ACK) return;
        const index = (data.readUInt16BE(2) - messageIdBase) & 0xffff;
        if (!outstanding.delete(index)) return;
        if (data[1] === CREATED) created++;
        else failed++;
        fill();
      });
      timers.push(
        setInterval(() => {
          const now = performance.now();
          for (const [index, sentAt] of outstanding) {
            if (now - sentAt < RESEND_MS) continue;
            resent++;
            send(index);
          }
        }, RESEND_MS / 4),
      );
      fill();
    });
  });
}

async function main(): Promise<void> {
  const sockets = await openSockets();
  let messageIdBase = 0;
  process.on('message', (message: RoundRequest | 'stop') => {
    if (message === 'stop') {
      for (const socket of sockets) socket.close();
      process.disconnect?.();
      return;
    }
    const base = messageIdBase;
    // Fresh message ids each round, so the server's deduplication cache cannot answer for it.
    messageIdBase = (messageIdBase + Math.ceil(message.clients / SOCKETS) + 1) & 0xffff;
    void round(sockets, message, base).then((result) => process.send?.(result));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.('ready');
}

void main();
