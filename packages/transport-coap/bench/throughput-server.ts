/**
 * The server side of throughput.bench.ts, run as a child process so client and server do not
 * share an event loop: our endpoint, the `coap` package's server and a raw node:dgram echo, all
 * on 127.0.0.1. Reports their ports over IPC, exits when the parent says so or goes away.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { createServer, globalAgent, globalAgentIPv6 } from 'coap';
import type { IncomingMessage, OutgoingMessage } from 'coap';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '../src/index.js';

export interface ServerPorts {
  readonly ours: number;
  readonly coap: number;
  readonly raw: number;
}

async function main(): Promise<void> {
  const ours = createCoapEndpoint({
    socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
    handler: (request) => ({ code: CoapCode.CONTENT, payload: request.payload }),
    ...(process.env['DEDUP'] ? { maxDedupEntries: Number(process.env['DEDUP']) } : {}),
  });

  const coapServer = createServer({ type: 'udp4' }, (req: IncomingMessage, res: OutgoingMessage) => {
    res.end(req.payload);
  });
  await new Promise<void>((resolve) => coapServer.listen(0, '127.0.0.1', () => resolve()));
  // node-coap opens its global agents' sockets on import; they would keep the child alive.
  globalAgent.close();
  globalAgentIPv6.close();
  const coapPort = (coapServer as unknown as { _sock: { address(): AddressInfo } })._sock.address().port;

  const raw = createSocket('udp4');
  raw.on('message', (data, info) => raw.send(data, info.port, info.address));
  await new Promise<void>((resolve) => raw.bind(0, '127.0.0.1', () => resolve()));

  const stop = (): void => {
    void ours.close();
    coapServer.close();
    raw.close();
    process.disconnect?.();
  };
  process.on('message', (message) => {
    if (message === 'stop') stop();
    // CPU time lets the parent compute cost per request, which load on a shared machine skews less than throughput.
    else if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => process.exit(0));
  const ports: ServerPorts = { ours: ours.address().port, coap: coapPort, raw: raw.address().port };
  process.send?.(ports);
}

void main();
