/** An observation as persisted, enough to recognise its notifications after a restart. */
export interface StoredObservation {
  /** The CoAP token, lower-case hex. */
  readonly token: string;
  readonly registrationId: string;
  readonly endpoint: string;
  /** Formatted paths (`/3/0/9`); one unless composite. */
  readonly paths: readonly string[];
  readonly composite: boolean;
  /** The content format asked for (Accept), when one was. */
  readonly format?: number;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** Where observations live, keyed by token and grouped by registration. */
export interface ObservationStore {
  add(observation: StoredObservation): Promise<void>;
  get(token: string): Promise<StoredObservation | undefined>;
  remove(token: string): Promise<StoredObservation | undefined>;
  /** Removes and returns every observation of a registration (deregistration, expiry, re-registration). */
  removeByRegistration(registrationId: string): Promise<StoredObservation[]>;
  byRegistration(registrationId: string): Promise<StoredObservation[]>;
  all(): AsyncIterable<StoredObservation>;
}

/** Observations held in this process: the default store. */
export function createMemoryObservationStore(): ObservationStore {
  const byToken = new Map<string, StoredObservation>();
  const tokensByRegistration = new Map<string, Set<string>>();

  function removeNow(token: string): StoredObservation | undefined {
    const observation = byToken.get(token);
    if (observation === undefined) return undefined;
    byToken.delete(token);
    const tokens = tokensByRegistration.get(observation.registrationId);
    tokens?.delete(token);
    if (tokens?.size === 0) tokensByRegistration.delete(observation.registrationId);
    return observation;
  }

  return {
    async add(observation) {
      removeNow(observation.token);
      byToken.set(observation.token, observation);
      let tokens = tokensByRegistration.get(observation.registrationId);
      if (tokens === undefined) {
        tokens = new Set();
        tokensByRegistration.set(observation.registrationId, tokens);
      }
      tokens.add(observation.token);
    },
    get: async (token) => byToken.get(token),
    remove: async (token) => removeNow(token),
    async removeByRegistration(registrationId) {
      const tokens = [...(tokensByRegistration.get(registrationId) ?? [])];
      return tokens.map(removeNow).filter((o): o is StoredObservation => o !== undefined);
    },
    async byRegistration(registrationId) {
      const tokens = tokensByRegistration.get(registrationId) ?? [];
      return [...tokens].map((t) => byToken.get(t)).filter((o): o is StoredObservation => o !== undefined);
    },
    async *all() {
      yield* [...byToken.values()];
    },
  };
}
