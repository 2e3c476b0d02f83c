import type { ObjectImplementation } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

const EXECUTABLES: readonly number[] = Object.freeze([6, 7]);

/**
 * Connectivity Statistics /7/0: counts traffic reported with `record()` while collecting, between
 * Start (6, which resets the counters) and Stop (7). Tx/Rx Data are in kilobytes.
 */
export class ConnectivityStatisticsInstance extends StoredInstance {
  #collecting = false;
  #txBytes = 0;
  #rxBytes = 0;
  #messages = 0;
  #maxMessage = 0;

  constructor() {
    super(
      [
        [0, 0],
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 0],
        [5, 0],
        [8, 0],
      ],
      EXECUTABLES,
    );
  }

  get collecting(): boolean {
    return this.#collecting;
  }

  override execute(resourceId: number): void {
    if (resourceId === 6) {
      this.#collecting = true;
      this.#txBytes = this.#rxBytes = this.#messages = this.#maxMessage = 0;
      this.#publish();
    } else if (resourceId === 7) {
      this.#collecting = false;
    }
  }

  /** Counts one datagram sent (`tx`) or received. */
  record(direction: 'tx' | 'rx', bytes: number): void {
    if (!this.#collecting) return;
    if (direction === 'tx') this.#txBytes += bytes;
    else this.#rxBytes += bytes;
    this.#messages++;
    this.#maxMessage = Math.max(this.#maxMessage, bytes);
    this.#publish();
  }

  #publish(): void {
    this.set(2, Math.floor(this.#txBytes / 1024));
    this.set(3, Math.floor(this.#rxBytes / 1024));
    this.set(4, this.#maxMessage);
    this.set(5, this.#messages === 0 ? 0 : Math.round((this.#txBytes + this.#rxBytes) / this.#messages));
  }
}

export function connectivityStatisticsObject(
  instance: ConnectivityStatisticsInstance = new ConnectivityStatisticsInstance(),
): ObjectImplementation {
  return { id: 7, instances: new Map([[0, instance]]) };
}
