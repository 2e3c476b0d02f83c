import { applyRegistrationUpdate } from './registration.js';
import type { Registration } from './registration.js';
import type { RegistrationStore } from './registration-store.js';

function addressKey(transport: string, address: string, port: number): string {
  return `${transport}|${address}|${port}`;
}

/** Registrations held in this process: the default store. */
export function createMemoryRegistrationStore(): RegistrationStore {
  const byId = new Map<string, Registration>();
  const idByEndpoint = new Map<string, string>();
  const idByAddress = new Map<string, string>();

  function unindex(registration: Registration): void {
    byId.delete(registration.id);
    if (idByEndpoint.get(registration.endpoint) === registration.id)
      idByEndpoint.delete(registration.endpoint);
    const key = addressKey(registration.transport, registration.address, registration.port);
    if (idByAddress.get(key) === registration.id) idByAddress.delete(key);
  }

  function index(registration: Registration): void {
    byId.set(registration.id, registration);
    idByEndpoint.set(registration.endpoint, registration.id);
    idByAddress.set(
      addressKey(registration.transport, registration.address, registration.port),
      registration.id,
    );
  }

  return {
    async add(registration) {
      const previousId = idByEndpoint.get(registration.endpoint);
      const previous = previousId === undefined ? undefined : byId.get(previousId);
      if (previous !== undefined) unindex(previous);
      index(registration);
      return previous;
    },
    async update(id, update) {
      const previous = byId.get(id);
      if (previous === undefined) return undefined;
      const current = applyRegistrationUpdate(previous, update);
      unindex(previous);
      index(current);
      return { previous, current };
    },
    async remove(id, options = {}) {
      const registration = byId.get(id);
      if (registration === undefined) return undefined;
      if (options.expiredAt !== undefined && registration.expiresAt > options.expiredAt) return undefined;
      unindex(registration);
      return registration;
    },
    get: async (id) => byId.get(id),
    async getByEndpoint(endpoint) {
      const id = idByEndpoint.get(endpoint);
      return id === undefined ? undefined : byId.get(id);
    },
    async getByAddress(transport, address, port) {
      const id = idByAddress.get(addressKey(transport, address, port));
      return id === undefined ? undefined : byId.get(id);
    },
    async *all() {
      yield* [...byId.values()];
    },
  };
}
