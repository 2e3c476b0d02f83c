import { AbortError, ClosedError } from '@lwm2m/core';
import type { Clock } from '@lwm2m/core';
import { createDeadlineQueue } from './deadline-queue.js';
import { ClientSleepingError, RegistrationEndedError } from './errors.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface ClientPresence {
  awake: boolean;
  peerKey: string;
  readonly waiters: Set<Waiter>;
}

export interface PresenceEvents {
  onAwake(endpoint: string): void;
  onSleeping(endpoint: string): void;
}

/**
 * Queue mode (TS Core §6.5 / Transport §6.4): which queue-mode clients are awake. A client is
 * awake for `awakeTime` after any message from it; requests for a sleeping client wait here until
 * it wakes or their time runs out. Awake windows share one timer.
 */
export interface PresenceTracker {
  /**
   * Starts (or moves) tracking a queue-mode client reachable at `peerKey`. `awake` (default true,
   * right after a Register/Update) opens an awake window; false for a client only known from the store.
   */
  track(endpoint: string, peerKey: string, awake?: boolean): void;
  /** Stops tracking; waiting requests fail with `error`. */
  untrack(endpoint: string, error: Error): void;
  /** A message came from this peer. */
  activity(peerKey: string): void;
  isTracked(endpoint: string): boolean;
  /** How many clients are tracked. */
  readonly size: number;
  isAwake(endpoint: string): boolean;
  /** Resolves when the client is awake; rejects on deadline (ClientSleepingError), abort or untrack. */
  waitAwake(endpoint: string, deadline: number, signal: AbortSignal | undefined): Promise<void>;
  close(): void;
}

export function createPresenceTracker(
  clock: Clock,
  awakeTime: number,
  events: PresenceEvents,
): PresenceTracker {
  const clients = new Map<string, ClientPresence>();
  const endpointByPeer = new Map<string, string>();
  const windows = createDeadlineQueue<string>(clock, (endpoint) => {
    const client = clients.get(endpoint);
    if (client === undefined || !client.awake) return;
    client.awake = false;
    events.onSleeping(endpoint);
  });

  function wake(endpoint: string, client: ClientPresence): void {
    windows.schedule(endpoint, clock.now() + awakeTime);
    if (client.awake) return;
    client.awake = true;
    events.onAwake(endpoint);
    const waiters = [...client.waiters];
    client.waiters.clear();
    for (const waiter of waiters) waiter.resolve();
  }

  return {
    track(endpoint, peerKey, awake = true) {
      let client = clients.get(endpoint);
      if (client === undefined) {
        client = { awake: false, peerKey, waiters: new Set() };
        clients.set(endpoint, client);
      } else if (client.peerKey !== peerKey) {
        if (endpointByPeer.get(client.peerKey) === endpoint) endpointByPeer.delete(client.peerKey);
        client.peerKey = peerKey;
      }
      endpointByPeer.set(peerKey, endpoint);
      if (awake) wake(endpoint, client);
    },
    untrack(endpoint, error) {
      const client = clients.get(endpoint);
      if (client === undefined) return;
      clients.delete(endpoint);
      windows.cancel(endpoint);
      if (endpointByPeer.get(client.peerKey) === endpoint) endpointByPeer.delete(client.peerKey);
      for (const waiter of client.waiters) waiter.reject(error);
      client.waiters.clear();
    },
    activity(peerKey) {
      const endpoint = endpointByPeer.get(peerKey);
      if (endpoint === undefined) return;
      const client = clients.get(endpoint);
      if (client !== undefined) wake(endpoint, client);
    },
    isTracked: (endpoint) => clients.has(endpoint),
    get size() {
      return clients.size;
    },
    isAwake: (endpoint) => clients.get(endpoint)?.awake ?? false,
    waitAwake(endpoint, deadline, signal) {
      const client = clients.get(endpoint);
      if (client === undefined) return Promise.reject(new RegistrationEndedError(endpoint, 'not tracked'));
      if (client.awake) return Promise.resolve();
      if (signal?.aborted === true)
        return Promise.reject(new AbortError('request aborted', { cause: signal.reason }));
      return new Promise<void>((resolve, reject) => {
        const cleanup = (): void => {
          clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          client.waiters.delete(waiter);
        };
        const waiter: Waiter = {
          resolve: () => {
            cleanup();
            resolve();
          },
          reject: (error) => {
            cleanup();
            reject(error);
          },
        };
        const onAbort = (): void =>
          waiter.reject(new AbortError('request aborted', { cause: signal?.reason }));
        const timer = clock.setTimeout(
          () => waiter.reject(new ClientSleepingError(endpoint)),
          Math.max(0, deadline - clock.now()),
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        client.waiters.add(waiter);
      });
    },
    close() {
      windows.clear();
      for (const client of clients.values()) {
        for (const waiter of [...client.waiters]) waiter.reject(new ClosedError('server closed'));
      }
      clients.clear();
      endpointByPeer.clear();
    },
  };
}
