/**
 * The @lwm2m demo: a bootstrap server, an LwM2M server and a client, all on loopback in this
 * process, with nothing external. The client bootstraps over CoAP, gets a DTLS-PSK account for
 * the server (the bootstrap server also puts that key into the server's security store), registers
 * over CoAPS, and the server reads, writes, executes and observes the simulated temperature sensor.
 *
 *   DEMO_SECONDS   how long to watch notifications (default 15; 0 = until Ctrl-C)
 *   LOG_LEVEL      pino level for the components' own logs (default silent)
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createCoreObjectRegistry, createMemorySecurityStore, formatPath, systemClock } from '@lwm2m/core';
import type { DatagramSocket, Logger, Lwm2mNode, Lwm2mPath, ResourceValue } from '@lwm2m/core';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import { createBootstrapServer, createMemoryBootstrapConfigStore } from '@lwm2m/bootstrap';
import { createServer } from '@lwm2m/server';
import { createClient, dtlsCredentials, TemperatureSensor, temperatureObject } from '@lwm2m/client';

const HOST = '127.0.0.1';
const ENDPOINT = 'demo-device';
const seconds = Number(process.env['DEMO_SECONDS'] ?? 15);
const logger: Logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const registry = createCoreObjectRegistry();
const started = Date.now();

function say(who: string, message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(2).padStart(6);
  console.log(`${t}s  ${who.padEnd(9)} ${message}`);
}

function showValue(value: ResourceValue): string {
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return `${value.objectId}:${value.instanceId}`;
  return JSON.stringify(typeof value === 'bigint' ? value.toString() : value);
}

/** One line per resource, named from the object definitions. */
function showNode(path: Lwm2mPath, node: Lwm2mNode): string[] {
  const objectId = path[0];
  const definition = objectId === undefined ? undefined : registry.getObject(objectId);
  const name = (id: number): string => definition?.resources.get(id)?.name ?? `resource ${id}`;
  switch (node.kind) {
    case 'resource':
    case 'resourceInstance':
      return [`${formatPath(path)} ${name(path[2] ?? node.id)} = ${showValue(node.value)}`];
    case 'multipleResource':
      return [...node.instances].map(
        ([i, v]) => `${formatPath(path)}/${i} ${name(node.id)}[${i}] = ${showValue(v)}`,
      );
    case 'objectInstance':
      return [...node.resources.values()].flatMap((r) =>
        showNode([path[0] ?? 0, node.id, r.id] as Lwm2mPath, r),
      );
    case 'object':
      return [...node.instances.values()].flatMap((i) => showNode([node.id, i.id] as Lwm2mPath, i));
  }
}

const securityStore = createMemorySecurityStore();

// The LwM2M server: CoAP and CoAPS (PSK keys come from the shared security store).
const serverUdp = await createUdpSocket({ address: HOST, port: 0 });
const serverDtls = createDtlsServer({
  address: HOST,
  port: 0,
  logger,
  psk: {
    lookup: async (identity) => {
      const info = await securityStore.getByPskIdentity(identity);
      return info?.mode === 'psk' ? info.key : undefined;
    },
  },
});
await serverDtls.listen();
const server = createServer({
  sockets: { coap: serverUdp, coaps: serverDtls },
  stores: { security: securityStore },
  logger,
});
await server.listen();
const coapsPort = serverDtls.address().port;
say('server', `listening on coap://${HOST}:${serverUdp.address().port} and coaps://${HOST}:${coapsPort}`);

// The bootstrap server hands the client a PSK account on the server's CoAPS port.
const pskKey = new Uint8Array(randomBytes(16));
const bootstrapUdp = await createUdpSocket({ address: HOST, port: 0 });
const bootstrap = createBootstrapServer({
  sockets: [bootstrapUdp],
  securityStore,
  logger,
  configStore: createMemoryBootstrapConfigStore({
    [ENDPOINT]: {
      security: [
        { uri: `coaps://${HOST}:${coapsPort}`, ssid: 1, mode: 'psk', identity: ENDPOINT, key: pskKey },
      ],
      servers: [{ ssid: 1, lifetime: 60, binding: 'U' }],
    },
  }),
});
bootstrap.on('bootstrap-request', (e) =>
  say('bootstrap', `request from ${e.endpoint} at ${e.peer.address}:${e.peer.port}`),
);
bootstrap.on('bootstrap-finish', (e) =>
  say('bootstrap', `finished ${e.endpoint}: ${e.operations.join(', ')}`),
);
bootstrap.on('bootstrap-failed', (e) =>
  say('bootstrap', `FAILED ${e.endpoint} at ${e.step} ${e.path ?? ''}: ${e.reason}`),
);
await bootstrap.listen();
const bootstrapUri = `coap://${HOST}:${bootstrapUdp.address().port}`;
say('bootstrap', `listening on ${bootstrapUri}`);

// The client knows only its bootstrap server.
const sensor = new TemperatureSensor({ initial: 21.5 });
sensor.simulate(systemClock, 1000);
const client = createClient({
  endpoint: ENDPOINT,
  logger,
  bootstrap: { uri: bootstrapUri },
  transport: {
    connect: async (target, signal): Promise<DatagramSocket> => {
      if (!target.secure) return createUdpSocket({ address: HOST, port: 0 });
      if (target.security === undefined) throw new Error(`no DTLS credentials for ${target.uri}`);
      return connectDtls({
        peer: { address: target.host, port: target.port },
        ...dtlsCredentials(target.security),
        signal,
        logger,
      });
    },
  },
  device: { manufacturer: '@lwm2m', model: 'demo', serialNumber: 'D-0001', firmwareVersion: '1.0.0' },
  objects: [temperatureObject([sensor])],
});
client.on('bootstrap-finished', () => say('client', 'bootstrapped; registering with what was provisioned'));
client.on('registered', (e) => say('client', `registered with server ${e.ssid} at ${e.location}`));
client.on('execute', (e) => say('client', `executed ${JSON.stringify(e)}`));

const done = new Promise<void>((resolve, reject) => {
  server.once('registered', (registration) => {
    const how =
      registration.identity?.kind === 'psk' ? ` (PSK identity ${registration.identity.identity})` : '';
    say(
      'server',
      `${registration.endpoint} registered over ${registration.transport}${how}, LwM2M ${registration.version}, lifetime ${registration.lifetime}s`,
    );
    manage(registration.endpoint).then(resolve, reject);
  });
});

async function manage(endpoint: string): Promise<void> {
  const device = await server.read(endpoint, '/3/0');
  say('server', 'read /3/0:');
  for (const line of showNode([3, 0], device)) console.log(`           ${line}`);

  await server.write(endpoint, '/3/0/14', '+01:00');
  const offset = await server.read(endpoint, '/3/0/14');
  say('server', `wrote /3/0/14, read back: ${showNode([3, 0, 14], offset).join('')}`);

  await server.execute(endpoint, '/3303/0/5605');
  say('server', 'executed /3303/0/5605 (Reset Min and Max Measured Values)');

  await server.writeAttributes(endpoint, '/3303/0/5700', { set: { pmin: 1, pmax: 5 } });
  const observation = await server.observe(endpoint, '/3303/0/5700');
  say(
    'server',
    `observing /3303/0/5700 (pmin=1, pmax=5) ${seconds > 0 ? `for ${seconds}s` : 'until Ctrl-C'}`,
  );
  const stop =
    seconds > 0 ? setTimeout(() => void observation.cancel({ active: true }), seconds * 1000) : undefined;
  process.once('SIGINT', () => void observation.cancel({ active: true }));
  for await (const value of observation) {
    if (!value.composite) say('server', `notification ${showNode(value.path, value.node).join('')}`);
  }
  clearTimeout(stop);
  say('server', 'observation cancelled');
}

await client.start();
try {
  await done;
} finally {
  sensor.stopSimulation();
  const deregistered = new Promise<boolean>((resolve) => server.once('deregistered', () => resolve(true)));
  await client.close();
  const gone = await Promise.race([
    deregistered,
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
  ]);
  say('server', gone ? `${ENDPOINT} deregistered` : `${ENDPOINT} did not deregister`);
  await Promise.all([server.close(), bootstrap.close()]);
  await Promise.all([serverUdp.close(), serverDtls.close(), bootstrapUdp.close()]);
}
