import type { PeerAddress } from '@lwm2m/core';
import { createCoapEndpoint } from './endpoint.js';
import type { CoapEndpoint, CoapEndpointOptions } from './endpoint.js';
import { createMemorySocketPair } from './memory-socket.js';
import type { MemorySocket } from './memory-socket.js';
import { parseMessage } from './message.js';
import type { CoapMessage } from './message.js';
import type { RequestHandler } from './types.js';

/** Test support: two endpoints joined by in-memory sockets, jitter off (random() = 0). */
export interface EndpointPair {
  readonly serverSocket: MemorySocket;
  readonly clientSocket: MemorySocket;
  readonly server: CoapEndpoint;
  readonly client: CoapEndpoint;
  readonly serverPeer: PeerAddress;
  readonly clientPeer: PeerAddress;
  close(): Promise<void>;
}

export function createEndpointPair(
  handler?: RequestHandler,
  serverOptions: Partial<CoapEndpointOptions> = {},
  clientOptions: Partial<CoapEndpointOptions> = {},
): EndpointPair {
  const [serverSocket, clientSocket] = createMemorySocketPair();
  const server = createCoapEndpoint({
    socket: serverSocket,
    random: () => 0,
    ...(handler ? { handler } : {}),
    ...serverOptions,
  });
  const client = createCoapEndpoint({ socket: clientSocket, random: () => 0, ...clientOptions });
  return {
    serverSocket,
    clientSocket,
    server,
    client,
    serverPeer: serverSocket.local,
    clientPeer: clientSocket.local,
    close: async () => {
      await Promise.all([server.close(), client.close()]);
    },
  };
}

export function sentMessages(socket: MemorySocket): CoapMessage[] {
  return socket.sent.map((entry) => parseMessage(entry.data));
}

/** Lets promise chains (and in-memory datagrams) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}
