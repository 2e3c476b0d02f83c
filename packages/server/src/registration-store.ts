import type { Registration, RegistrationUpdate } from './registration.js';

/**
 * Where registrations live. Every method is atomic per endpoint: two server processes sharing a
 * store must never interleave inside one of them. The memory store is the reference.
 */
export interface RegistrationStore {
  /**
   * Adds a registration; an earlier registration of the same endpoint is removed in the same step
   * and returned.
   */
  add(registration: Registration): Promise<Registration | undefined>;
  /** Applies an Update; undefined when the id is unknown. */
  update(
    id: string,
    update: RegistrationUpdate,
  ): Promise<{ previous: Registration; current: Registration } | undefined>;
  /**
   * Removes a registration. With `expiredAt`, only if it still expires at or before that time
   * (another process may have seen an Update since): the expiry race is decided by the store.
   */
  remove(id: string, options?: { expiredAt?: number }): Promise<Registration | undefined>;
  get(id: string): Promise<Registration | undefined>;
  getByEndpoint(endpoint: string): Promise<Registration | undefined>;
  /** The registration made from this transport, address and port (Send carries no endpoint name). */
  getByAddress(transport: string, address: string, port: number): Promise<Registration | undefined>;
  all(): AsyncIterable<Registration>;
}
