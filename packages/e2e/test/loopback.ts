/**
 * What every end-to-end test needs: our server (CoAP, optionally CoAPS) on 127.0.0.1, a client
 * transport on loopback, and waits that fail with a clear message instead of hanging.
 */
import { createMemorySecurityStore } from '@lwm2m/core';
import type { DatagramSocket, Lwm2mNode, ResourceValue, SecurityStore } from '@lwm2m/core';
import { createUdpSocket } from '@lwm2m/transport-coap';
import type { TransmissionParameters } from '@lwm2m/transport-coap';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsServer, EcdsaServerOptions } from '@lwm2m/transport-dtls';
import { createServer } from '@lwm2m/server';
import { createBootstrapServer } from '@lwm2m/bootstrap';
import type { BootstrapConfigStore, BootstrapServer } from '@lwm2m/bootstrap';
import type { Lwm2mServer, Observation, ObservationValue, ServerOptions, ServerStores } from '@lwm2m/server';
import type { ClientTransport, ConnectTarget } from '@lwm2m/client';
import { dtlsCredentials } from '@lwm2m/client';

export const HOST = '127.0.0.1';

/** Short CoAP retransmissions so a lost peer is noticed in about a second, not 93 s. */
export const FAST_COAP: Partial<TransmissionParameters> = {
  ackTimeout: 250,
  ackRandomFactor: 1,
  maxRetransmit: 2,
};

/** Registration retries that give up at once (tests look at the first failure). */
export const NO_RETRY = { attempts: 1, initialDelay: 100, maxDelay: 100, sequenceDelay: 3_600_000 } as const;

export interface TestServer {
  readonly server: Lwm2mServer;
  readonly security: SecurityStore;
  readonly coapUri: string;
  /** Only with `dtls: true`. */
  readonly coapsUri: string;
  close(): Promise<void>;
}

export interface TestServerOptions extends Omit<ServerOptions, 'sockets' | 'endpoints' | 'stores'> {
  readonly dtls?: boolean;
  /** With `dtls: true`: certificates and raw public keys beside PSK. */
  readonly ecdsa?: EcdsaServerOptions;
  readonly stores?: ServerStores;
  /** Port of the CoAP socket (a restart reuses the old one); 0 by default. */
  readonly coapPort?: number;
  /** Port of the CoAPS socket with `dtls: true`; 0 by default. */
  readonly coapsPort?: number;
}

/** Our LwM2M server on loopback; PSK keys of the CoAPS listener come from its security store. */
export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { dtls: withDtls, ecdsa, stores, coapPort, coapsPort, ...rest } = options;
  const security = stores?.security ?? createMemorySecurityStore();
  const udp = await createUdpSocket({ address: HOST, port: coapPort ?? 0 });
  const sockets: Record<string, DatagramSocket> = { coap: udp };
  let dtls: DtlsServer | undefined;
  if (withDtls === true) {
    dtls = createDtlsServer({
      address: HOST,
      port: coapsPort ?? 0,
      ...(ecdsa === undefined ? {} : { ecdsa }),
      psk: {
        lookup: async (identity) => {
          const info = await security.getByPskIdentity(identity);
          return info?.mode === 'psk' ? info.key : undefined;
        },
      },
    });
    await dtls.listen();
    sockets['coaps'] = dtls;
  }
  const server = createServer({
    coap: { transmission: FAST_COAP },
    ...rest,
    sockets,
    stores: { ...stores, security },
  });
  await server.listen();
  return {
    server,
    security,
    coapUri: `coap://${HOST}:${udp.address().port}`,
    coapsUri: dtls === undefined ? '' : `coaps://${HOST}:${dtls.address().port}`,
    async close() {
      await server.close();
      // The server closes its CoAP endpoints; closing the sockets again must be harmless.
      await udp.close();
      await dtls?.close();
    },
  };
}

/** The client side of the wire: plain UDP or DTLS-PSK on loopback. Records what it was asked for. */
export function loopbackTransport(targets: ConnectTarget[] = []): ClientTransport {
  return {
    async connect(target, signal) {
      targets.push(target);
      if (!target.secure) return createUdpSocket({ address: HOST, port: 0 });
      if (target.security === undefined) throw new Error(`no DTLS credentials for ${target.uri}`);
      return connectDtls({
        peer: { address: target.host, port: target.port },
        ...dtlsCredentials(target.security),
        localAddress: HOST,
        signal,
        timeout: 5_000,
        retransmit: { initialMs: 250, maxMs: 1_000 },
      });
    },
  };
}

interface Listenable {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * The arguments of the next `event` (that `filter` accepts) within `timeout` ms. Start waiting
 * before causing the event.
 */
export function waitFor<A extends unknown[] = unknown[]>(
  emitter: Listenable,
  event: string,
  filter: (...args: A) => boolean = () => true,
  timeout = 5_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} event within ${timeout} ms`));
    }, timeout);
    const listener = (...args: unknown[]): void => {
      if (!filter(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as A);
    };
    emitter.on(event, listener);
  });
}

/** Resolves true if `event` (accepted by `filter`) happens within `ms`, false otherwise. */
export async function happens<A extends unknown[] = unknown[]>(
  emitter: Listenable,
  event: string,
  ms: number,
  filter: (...args: A) => boolean = () => true,
): Promise<boolean> {
  try {
    await waitFor<A>(emitter, event, filter, ms);
    return true;
  } catch {
    return false;
  }
}

/** The next value of an observation (the first call gives the initial response). */
export async function nextValue(observation: Observation, timeout = 5_000): Promise<ObservationValue> {
  const iterator = observation[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no notification within ${timeout} ms`)), timeout);
  });
  try {
    const result = await Promise.race([iterator.next(), expired]);
    if (result.done === true) throw new Error('observation ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** The value of a single resource (or resource instance) node; throws on anything else. */
export function valueOf(node: Lwm2mNode | undefined): ResourceValue {
  if (node === undefined) throw new Error('no node');
  if (node.kind === 'resource' || node.kind === 'resourceInstance') return node.value;
  throw new Error(`expected a single value, got a ${node.kind}`);
}

/** The value of resource `resourceId` inside an object instance (or object with one instance) node. */
export function resourceOf(
  node: Lwm2mNode | undefined,
  resourceId: number,
  instanceId = 0,
): ResourceValue | ReadonlyMap<number, ResourceValue> {
  if (node === undefined) throw new Error('no node');
  const instance = node.kind === 'object' ? node.instances.get(instanceId) : node;
  if (instance === undefined || instance.kind !== 'objectInstance')
    throw new Error(`no object instance in a ${node.kind}`);
  const resource = instance.resources.get(resourceId);
  if (resource === undefined) throw new Error(`no resource ${resourceId}`);
  return resource.kind === 'resource' ? resource.value : resource.instances;
}

/** The single value of an observation value (non-composite). */
export function observedValue(value: ObservationValue): ResourceValue {
  if (value.composite) throw new Error('expected a single-path observation value');
  return valueOf(value.node);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Our bootstrap server on `socket` with test timings, provisioning into the LwM2M server's store; listening. */
export async function startBootstrap(
  socket: DatagramSocket,
  configStore: BootstrapConfigStore,
  securityStore: SecurityStore,
): Promise<BootstrapServer> {
  const bootstrap = createBootstrapServer({
    sockets: [socket],
    configStore,
    securityStore,
    transmission: FAST_COAP,
    requestTimeout: 2_000,
    sessionTimeout: 10_000,
  });
  await bootstrap.listen();
  return bootstrap;
}
