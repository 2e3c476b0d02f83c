import { ConflictError } from '@lwm2m/core';
import type { BootstrapConfig } from './config.js';
import { validateBootstrapConfig } from './config-validation.js';
import { bestPattern, checkConfigKey, isEndpointPattern } from './endpoint-pattern.js';

/**
 * Bootstrap configurations by key: an endpoint name, or a glob pattern (`sensor-*`, `*`) that
 * serves every endpoint without a config of its own.
 */
export interface BootstrapConfigStore {
  /** The config for an endpoint: its own, else the most specific matching pattern's. */
  get(endpoint: string): Promise<BootstrapConfig | undefined>;
  /** The key of the bootstrap account with this PSK identity, for the DTLS handshake. */
  getBootstrapPsk(identity: string): Promise<Uint8Array | undefined>;
  /**
   * Validates and stores a config; rejects with a BootstrapConfigError when it is invalid and a
   * ConflictError when its bootstrap PSK identity belongs to another key.
   */
  put(key: string, config: BootstrapConfig): Promise<void>;
  /** Resolves true when something was removed. */
  remove(key: string): Promise<boolean>;
  /** Every key and config, keys sorted. */
  entries(): Promise<[key: string, config: BootstrapConfig][]>;
}

/** The PSK identity of a config's bootstrap account, when it uses PSK. */
export function bootstrapPskIdentity(
  config: BootstrapConfig,
): { identity: string; key: Uint8Array } | undefined {
  const account = config.security.find((s) => s.bootstrap === true);
  return account?.mode === 'psk' ? { identity: account.identity, key: account.key } : undefined;
}

/**
 * Configs indexed in memory, shared by the memory store and the JSON-file store: exact names in a
 * map, patterns searched in order, bootstrap PSK identities indexed.
 */
export class ConfigIndex {
  readonly #configs = new Map<string, BootstrapConfig>();
  readonly #patterns = new Set<string>();
  readonly #pskOwner = new Map<string, string>();

  get(endpoint: string): BootstrapConfig | undefined {
    const own = this.#configs.get(endpoint);
    if (own !== undefined) return own;
    const pattern = bestPattern(this.#patterns, endpoint);
    return pattern === undefined ? undefined : this.#configs.get(pattern);
  }

  getBootstrapPsk(identity: string): Uint8Array | undefined {
    const owner = this.#pskOwner.get(identity);
    const config = owner === undefined ? undefined : this.#configs.get(owner);
    return config === undefined ? undefined : bootstrapPskIdentity(config)?.key;
  }

  /** Throws without changing anything when the config is invalid or its PSK identity is taken. */
  put(key: string, config: BootstrapConfig): void {
    checkConfigKey(key);
    validateBootstrapConfig(config, key);
    const psk = bootstrapPskIdentity(config);
    if (psk !== undefined) {
      const owner = this.#pskOwner.get(psk.identity);
      if (owner !== undefined && owner !== key) {
        throw new ConflictError(
          `bootstrap PSK identity ${JSON.stringify(psk.identity)} already belongs to ${JSON.stringify(owner)}`,
        );
      }
    }
    this.remove(key);
    this.#configs.set(key, config);
    if (isEndpointPattern(key)) this.#patterns.add(key);
    if (psk !== undefined) this.#pskOwner.set(psk.identity, key);
  }

  remove(key: string): boolean {
    const old = this.#configs.get(key);
    if (old === undefined) return false;
    this.#configs.delete(key);
    this.#patterns.delete(key);
    const psk = bootstrapPskIdentity(old);
    if (psk !== undefined && this.#pskOwner.get(psk.identity) === key) this.#pskOwner.delete(psk.identity);
    return true;
  }

  entries(): [string, BootstrapConfig][] {
    return [...this.#configs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** Configs held in this process. `initial` is validated like every `put`. */
export function createMemoryBootstrapConfigStore(
  initial: Iterable<readonly [string, BootstrapConfig]> | Readonly<Record<string, BootstrapConfig>> = [],
): BootstrapConfigStore {
  const index = new ConfigIndex();
  const pairs = Symbol.iterator in initial ? initial : Object.entries(initial);
  for (const [key, config] of pairs as Iterable<readonly [string, BootstrapConfig]>) index.put(key, config);
  return {
    get: async (endpoint) => index.get(endpoint),
    getBootstrapPsk: async (identity) => index.getBootstrapPsk(identity),
    put: async (key, config) => index.put(key, config),
    remove: async (key) => index.remove(key),
    entries: async () => index.entries(),
  };
}
