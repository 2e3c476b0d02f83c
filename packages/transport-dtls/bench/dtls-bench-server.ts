/**
 * The server side of dtls.bench.ts, run as a child process so that client and server do not share
 * an event loop: a bare DTLS-PSK server for handshakes, and one CoAP echo endpoint on plain UDP
 * (NoSec) and one on DTLS-PSK (CoAPS), both with the same handler. Reports ports over IPC, answers
 * 'cpu' with its CPU usage, exits when the parent says 'stop' or goes away.
 */
import { CoapCode, createCoapEndpoint, createUdpSocket, type RequestHandler } from '@lwm2m/transport-coap';
import { CipherSuite, createDtlsServer } from '../src/index.js';
import { BENCH_IDENTITY, BENCH_KEY } from './bench-credentials.js';

export interface BenchServerPorts {
  readonly handshake: number;
  readonly nosec: number;
  readonly coaps: number;
  /** ECDHE-ECDSA handshakes (server certificate), when started with `<key file> <certificate file>`. */
  readonly ecdhe?: number;
}

async function main(): Promise<void> {
  const lookup = async (identity: string): Promise<Uint8Array | undefined> =>
    identity === BENCH_IDENTITY ? BENCH_KEY : undefined;
  const ciphers = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
  const handshakes = createDtlsServer({ port: 0, address: '127.0.0.1', ciphers, psk: { lookup } });
  await handshakes.listen();

  const echo: RequestHandler = (request) => ({ code: CoapCode.CONTENT, payload: request.payload });
  const nosec = createCoapEndpoint({
    socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
    handler: echo,
  });
  const dtls = createDtlsServer({ port: 0, address: '127.0.0.1', ciphers, psk: { lookup } });
  await dtls.listen();
  const coaps = createCoapEndpoint({ socket: dtls, handler: echo });

  const [keyFile, certFile] = process.argv.slice(2);
  const ecdhe =
    keyFile === undefined || certFile === undefined
      ? undefined
      : createDtlsServer({ port: 0, address: '127.0.0.1', ecdsa: { key: keyFile, certificate: certFile } });
  await ecdhe?.listen();

  const stop = async (): Promise<void> => {
    await Promise.all([handshakes.close(), nosec.close(), coaps.close(), ecdhe?.close()]);
    process.disconnect?.();
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop();
    else if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => process.exit(0));
  const ports: BenchServerPorts = {
    handshake: handshakes.address().port,
    nosec: nosec.address().port,
    coaps: dtls.address().port,
    ...(ecdhe === undefined ? {} : { ecdhe: ecdhe.address().port }),
  };
  process.send?.(ports);
}

void main();
