import type { Clock } from '@lwm2m/core';
import type { InstanceHandler, ObjectImplementation } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

export interface TemperatureOptions {
  /** Starting value in °C; default 20. */
  readonly initial?: number;
  readonly minRange?: number;
  readonly maxRange?: number;
  readonly applicationType?: string;
}

const EXECUTABLES: readonly number[] = Object.freeze([5605]);
const VALUE = 5700;
const MIN_MEASURED = 5601;
const MAX_MEASURED = 5602;

/**
 * A Temperature instance (3303): `setValue()` records a measurement and keeps Min/Max Measured;
 * Reset Min and Max (5605) starts them over from the current value. `simulate()` drives the value
 * by a bounded random walk, for demos and load tests.
 */
export class TemperatureSensor extends StoredInstance {
  #timer: unknown;
  #clock: Clock | undefined;

  constructor(options: TemperatureOptions = {}) {
    const initial = options.initial ?? 20;
    super(
      [
        [VALUE, initial],
        [MIN_MEASURED, initial],
        [MAX_MEASURED, initial],
        [5603, options.minRange ?? -40],
        [5604, options.maxRange ?? 85],
        [5701, 'Cel'],
        ...(options.applicationType === undefined ? [] : ([[5750, options.applicationType]] as const)),
      ],
      EXECUTABLES,
    );
  }

  get value(): number {
    return this.values.get(VALUE) as number;
  }

  setValue(value: number): void {
    this.set(VALUE, value);
    if (value < (this.values.get(MIN_MEASURED) as number)) this.set(MIN_MEASURED, value);
    if (value > (this.values.get(MAX_MEASURED) as number)) this.set(MAX_MEASURED, value);
  }

  override execute(resourceId: number): void {
    if (resourceId !== 5605) return;
    this.set(MIN_MEASURED, this.value);
    this.set(MAX_MEASURED, this.value);
  }

  /** Changes the value every `intervalMs` by up to ±`step` (default 0.5), within the range. */
  simulate(clock: Clock, intervalMs: number, random: () => number = Math.random, step = 0.5): void {
    this.stopSimulation();
    this.#clock = clock;
    const tick = (): void => {
      const min = this.values.get(5603) as number;
      const max = this.values.get(5604) as number;
      const next =
        Math.round(Math.min(max, Math.max(min, this.value + (random() * 2 - 1) * step)) * 100) / 100;
      this.setValue(next);
      this.#timer = clock.setTimeout(tick, intervalMs);
    };
    this.#timer = clock.setTimeout(tick, intervalMs);
  }

  stopSimulation(): void {
    if (this.#timer !== undefined) this.#clock?.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  override detach(): void {
    this.stopSimulation();
    super.detach();
  }
}

/** Object 3303 with the given sensors; servers may not create or delete them. */
export function temperatureObject(
  sensors: ReadonlyMap<number, InstanceHandler> | readonly InstanceHandler[],
): ObjectImplementation {
  const instances = Array.isArray(sensors)
    ? new Map(sensors.map((s, i) => [i, s]))
    : (sensors as ReadonlyMap<number, InstanceHandler>);
  return { id: 3303, instances };
}
