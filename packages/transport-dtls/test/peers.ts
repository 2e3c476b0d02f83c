import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { DatagramMessage, DatagramSocket } from '@lwm2m/core';
import { encodeClientHello, encodeHandshake, HandshakeType } from '../src/handshake-messages.js';
import { ContentType, DTLS_1_2, parseRecords, RECORD_HEADER_LENGTH, serializeRecord } from '../src/record.js';

/** An epoch-0 datagram with one unfragmented ClientHello offering CCM_8, as a raw test peer sends it. */
export function clientHelloDatagram(
  cookie: Uint8Array,
  random: Uint8Array,
  seq = 0,
  messageSeq = 0,
): Uint8Array {
  const body = encodeClientHello({
    version: DTLS_1_2,
    random,
    sessionId: new Uint8Array(0),
    cookie,
    cipherSuites: [0xc0a8],
    compressionMethods: Buffer.of(0),
    extensions: [],
  });
  return serializeRecord(
    ContentType.handshake,
    DTLS_1_2,
    0,
    seq,
    encodeHandshake(HandshakeType.clientHello, messageSeq, body),
  );
}

/** The records of a datagram, each as its own bytes (header included), to resend them apart. */
export function splitRecords(datagram: Uint8Array): Buffer[] {
  return parseRecords(datagram).map((r) => {
    const start = r.fragment.byteOffset - datagram.byteOffset - RECORD_HEADER_LENGTH;
    return Buffer.from(datagram.subarray(start, start + RECORD_HEADER_LENGTH + r.fragment.length));
  });
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Two consecutive free UDP ports on 127.0.0.1 (libcoap servers listen for DTLS on port + 1). */
export async function freeUdpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freeUdpPort();
    const next = createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      next.once('error', () => resolve(false));
      next.bind(port + 1, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => next.close(() => resolve()));
    if (free) return port;
  }
  throw new Error('no two consecutive free UDP ports');
}

/** Runs a peer to its end; rejects when it cannot start, exits non-zero, or outlives `ms`. */
export function runPeer(command: string, args: readonly string[], ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} did not start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} ended with ${code ?? signal}:\n${output}`));
    });
  });
}

export interface SpawnedPeer {
  readonly process: ChildProcessWithoutNullStreams;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the output contains `text`; rejects after `ms`. */
  waitFor(text: string, ms?: number): Promise<void>;
  kill(): Promise<void>;
}

/** Spawns a peer with stdin kept open (openssl s_server/s_client exit when stdin closes). */
export function spawnPeer(command: string, args: readonly string[]): SpawnedPeer {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('latin1');
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('error', (error) => {
    output += `\n[spawn error] ${error.message}`;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => output,
    waitFor: (text, ms = 5000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (output.includes(text)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${JSON.stringify(text)}; output so far:\n${output}`));
        }, ms);
        waiters.add(check);
        check();
      }),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type Direction = 'toServer' | 'toClient';

/**
 * A UDP relay between one client and a server on 127.0.0.1 that can drop, record or rewrite
 * datagrams, to test loss, replay and tampering.
 */
export interface LossyProxy {
  readonly port: number;
  /** Every datagram relayed so far, in order. */
  readonly log: Array<{ direction: Direction; data: Buffer }>;
  /** Return false to drop; return a Buffer to send that instead. */
  filter: (direction: Direction, data: Buffer, index: number) => boolean | Buffer;
  /** Sends raw bytes to the server as if from the client. */
  injectToServer(data: Uint8Array): void;
  close(): Promise<void>;
}

export async function startProxy(serverPort: number): Promise<LossyProxy> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let client: { address: string; port: number } | undefined;
  const counts: Record<Direction, number> = { toServer: 0, toClient: 0 };
  const proxy: LossyProxy = {
    port: socket.address().port,
    log: [],
    filter: () => true,
    injectToServer: (data) => socket.send(data, serverPort, '127.0.0.1'),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (data, rinfo) => {
    const direction: Direction = rinfo.port === serverPort ? 'toClient' : 'toServer';
    if (direction === 'toServer') client = { address: rinfo.address, port: rinfo.port };
    const verdict = proxy.filter(direction, data, counts[direction]++);
    if (verdict === false) return;
    const out = verdict === true ? data : verdict;
    proxy.log.push({ direction, data: out });
    if (direction === 'toServer') socket.send(out, serverPort, '127.0.0.1');
    else if (client !== undefined) socket.send(out, client.port, client.address);
  });
  return proxy;
}

/** The next `message` event of a DatagramSocket (the listener is removed afterwards). */
export function nextMessage(socket: DatagramSocket): Promise<DatagramMessage> {
  return new Promise((resolve) => {
    const listener = (message: DatagramMessage): void => {
      socket.off('message', listener);
      resolve(message);
    };
    socket.on('message', listener);
  });
}
