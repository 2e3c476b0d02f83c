import type { Clock } from '@lwm2m/core';
import type { ObjectImplementation } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

/** Location /6/0: `moveTo()` updates latitude, longitude, altitude and the timestamp together. */
export class LocationInstance extends StoredInstance {
  readonly #clock: Clock;

  constructor(
    clock: Clock,
    position: { latitude: number; longitude: number; altitude?: number } = { latitude: 0, longitude: 0 },
  ) {
    super();
    this.#clock = clock;
    this.#store(position.latitude, position.longitude, position.altitude);
  }

  moveTo(latitude: number, longitude: number, altitude?: number): void {
    this.#store(latitude, longitude, altitude);
    for (const id of [0, 1, 2, 5]) if (this.values.has(id)) this.changed(id);
  }

  #store(latitude: number, longitude: number, altitude: number | undefined): void {
    this.values.set(0, latitude);
    this.values.set(1, longitude);
    if (altitude !== undefined) this.values.set(2, altitude);
    this.values.set(5, new Date(Math.floor(this.#clock.now() / 1000) * 1000));
  }
}

export function locationObject(instance: LocationInstance): ObjectImplementation {
  return { id: 6, instances: new Map([[0, instance]]) };
}
