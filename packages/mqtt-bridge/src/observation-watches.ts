import { formatPath, isLwm2mError } from '@lwm2m/core';
import type { Logger, Lwm2mPath } from '@lwm2m/core';
import type { Lwm2mServer, Observation, ObservationValue } from '@lwm2m/server';
import { BridgeRequestError } from './errors.js';

/** An observation asked for over MQTT, kept so it can be made again when the device comes back. */
interface Watch {
  readonly endpoint: string;
  readonly paths: readonly Lwm2mPath[];
  readonly composite: boolean;
  readonly format: number | undefined;
  observation: Observation | undefined;
  starting: Promise<ObservationValue> | undefined;
  /** The latest value (first response or notification), answered to a repeated OBSERVE. */
  last: ObservationValue | undefined;
}

export interface WatchResult {
  readonly value: ObservationValue;
  /** True when an observation made earlier was still running and is answered instead of a new one. */
  readonly reused: boolean;
}

export interface ObservationWatches {
  /** Observes (or, when the same paths are observed already, answers with the latest value). */
  observe(
    endpoint: string,
    paths: readonly Lwm2mPath[],
    composite: boolean,
    options: { format: number | undefined; timeout: number; signal: AbortSignal },
  ): Promise<WatchResult>;
  /** Stops one: true when there was something to stop. */
  cancel(endpoint: string, paths: readonly Lwm2mPath[], composite: boolean): Promise<boolean>;
  /** Observes again what was asked for an endpoint and is not running (after it registered again). */
  restore(endpoint: string, timeout: number): void;
  /** How many observations are wanted for an endpoint. */
  count(endpoint: string): number;
}

function watchKey(paths: readonly Lwm2mPath[], composite: boolean): string {
  return (composite ? 'c:' : 's:') + paths.map(formatPath).join(',');
}

/** A refusal by the device (4.xx): asking again will not help. */
function isRefusal(error: unknown): boolean {
  if (!isLwm2mError(error) || error.code !== 'ERR_REQUEST_FAILED') return false;
  const code = (error as unknown as { coapCode?: unknown }).coapCode;
  return typeof code === 'number' && code >> 5 === 4;
}

/**
 * The observations made through MQTT, by endpoint and paths: one LwM2M observation per endpoint
 * and path set however often OBSERVE is published (QoS 1 redelivery, a caller retrying), made again
 * when the device registers anew (its observations ended with the old registration).
 */
export function createObservationWatches(
  server: Lwm2mServer,
  logger: Logger,
  maxPerEndpoint: number,
): ObservationWatches {
  const byEndpoint = new Map<string, Map<string, Watch>>();

  /** Reads values until the observation ends, keeping the latest; also keeps its buffer empty. */
  async function follow(watch: Watch, observation: Observation): Promise<void> {
    try {
      for await (const value of observation) watch.last = value;
    } catch (error) {
      logger.debug(
        { err: error, endpoint: watch.endpoint, token: observation.token },
        'mqtt bridge: observation ended',
      );
    }
    if (watch.observation === observation) watch.observation = undefined;
  }

  function start(watch: Watch, timeout: number, signal: AbortSignal | undefined): Promise<ObservationValue> {
    const options = {
      timeout,
      ...(watch.format === undefined ? {} : { format: watch.format }),
      ...(signal === undefined ? {} : { signal }),
    };
    const starting = (
      watch.composite
        ? server.observeComposite(watch.endpoint, watch.paths, options)
        : server.observe(watch.endpoint, watch.paths[0] as Lwm2mPath, options)
    ).then((observation) => {
      watch.observation = observation;
      watch.last = observation.initial;
      if (observation.active) void follow(watch, observation);
      return observation.initial;
    });
    watch.starting = starting;
    const clear = (): void => {
      if (watch.starting === starting) watch.starting = undefined;
    };
    starting.then(clear, clear);
    return starting;
  }

  function remove(watch: Watch, key: string): void {
    const watches = byEndpoint.get(watch.endpoint);
    if (watches?.get(key) !== watch) return;
    watches.delete(key);
    if (watches.size === 0) byEndpoint.delete(watch.endpoint);
  }

  return {
    async observe(endpoint, paths, composite, options) {
      const key = watchKey(paths, composite);
      let watches = byEndpoint.get(endpoint);
      const existing = watches?.get(key);
      if (existing !== undefined) {
        if (existing.observation?.active === true && existing.last !== undefined)
          return { value: existing.last, reused: true };
        if (existing.starting !== undefined) return { value: await existing.starting, reused: true };
        return { value: await start(existing, options.timeout, options.signal), reused: false };
      }
      if (watches === undefined) {
        watches = new Map();
        byEndpoint.set(endpoint, watches);
      }
      if (watches.size >= maxPerEndpoint) {
        throw new BridgeRequestError(
          'ERR_BAD_BODY',
          '4.29',
          `at most ${maxPerEndpoint} observations per endpoint through the bridge`,
        );
      }
      const watch: Watch = {
        endpoint,
        paths,
        composite,
        format: options.format,
        observation: undefined,
        starting: undefined,
        last: undefined,
      };
      watches.set(key, watch);
      try {
        const value = await start(watch, options.timeout, options.signal);
        // A device that answers without accepting to notify has nothing to keep.
        if (watch.observation?.active !== true) remove(watch, key);
        return { value, reused: false };
      } catch (error) {
        remove(watch, key);
        throw error;
      }
    },

    async cancel(endpoint, paths, composite) {
      const key = watchKey(paths, composite);
      const watch = byEndpoint.get(endpoint)?.get(key);
      if (watch !== undefined) {
        remove(watch, key);
        await watch.starting?.catch(() => undefined);
        const observation = watch.observation;
        watch.observation = undefined;
        if (observation?.active === true) await observation.cancel();
        return true;
      }
      // Not made by this bridge (another process, or before a restart): cancel what the server holds.
      const wanted = paths.map(formatPath).join(',');
      for (const observation of server.observations(endpoint)) {
        if (observation.composite === composite && observation.paths.map(formatPath).join(',') === wanted) {
          await observation.cancel();
          return true;
        }
      }
      const registration = await server.getRegistration(endpoint);
      if (registration === undefined) return false;
      for (const stored of await server.observationStore.byRegistration(registration.id)) {
        if (stored.composite === composite && stored.paths.join(',') === wanted)
          return server.cancelObservation(stored.token);
      }
      return false;
    },

    restore(endpoint, timeout) {
      const watches = byEndpoint.get(endpoint);
      if (watches === undefined) return;
      for (const [key, watch] of watches) {
        if (watch.observation?.active === true || watch.starting !== undefined) continue;
        start(watch, timeout, undefined).then(
          () =>
            logger.debug(
              { endpoint, paths: watch.paths.map(formatPath) },
              'mqtt bridge: observation restored',
            ),
          (error: unknown) => {
            logger.warn(
              { err: error, endpoint, paths: watch.paths.map(formatPath) },
              'mqtt bridge: observation not restored',
            );
            if (isRefusal(error)) remove(watch, key);
          },
        );
      }
    },

    count(endpoint) {
      return byEndpoint.get(endpoint)?.size ?? 0;
    },
  };
}
