import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DatagramSocket, PeerAddress } from '@lwm2m/core';
import { ClientConfigError } from './errors.js';
import type { ConnectSecurity } from './security-target.js';

/** Where and how to reach one server, from its Security instance. */
export interface ConnectTarget {
  /** The Server URI as written in the Security object. */
  readonly uri: string;
  readonly host: string;
  readonly port: number;
  /** `coaps`: the socket must be DTLS. */
  readonly secure: boolean;
  /** Credentials from the Security instance (PSK, raw public key or certificate); absent on NoSec. */
  readonly security?: ConnectSecurity;
}

/**
 * How the client gets a datagram socket for a server; apps implement it with `createUdpSocket`
 * (NoSec) or `connectDtls` with {@link dtlsCredentials}. The client owns what it gets and closes it. One socket per
 * server: registration and that server's requests share it (no second port).
 */
export interface ClientTransport {
  connect(target: ConnectTarget, signal: AbortSignal): Promise<DatagramSocket>;
}

/** Splits a `coap://` / `coaps://` Server URI. */
export function parseServerUri(uri: string): { host: string; port: number; secure: boolean } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new ClientConfigError(`invalid server URI ${JSON.stringify(uri)}`, { cause: error });
  }
  const secure = url.protocol === 'coaps:';
  if (!secure && url.protocol !== 'coap:')
    throw new ClientConfigError(`server URI ${uri}: only coap and coaps are supported`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new ClientConfigError(`server URI ${uri} has no host`);
  const port = url.port === '' ? (secure ? 5684 : 5683) : Number(url.port);
  return { host, port, secure };
}

/** The peer address of a host: IP literals as they are, names through the resolver. */
export async function resolvePeer(host: string, port: number): Promise<PeerAddress> {
  if (isIP(host) !== 0) return { address: host, port };
  const { address } = await lookup(host);
  return { address, port };
}
