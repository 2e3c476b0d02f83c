import type { ResourceValue } from '@lwm2m/core';
import type { Clock } from '@lwm2m/core';
import type { ObjectImplementation, ResourceContent, WriteContext } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

/** What the Device object (3) says about the device, and what its executables do. */
export interface DeviceInfo {
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serialNumber?: string;
  readonly firmwareVersion?: string;
  readonly deviceType?: string;
  readonly hardwareVersion?: string;
  readonly softwareVersion?: string;
  /** 3/0/6 Available Power Sources (0 DC, 1 internal battery, ...). */
  readonly powerSources?: readonly number[];
  readonly batteryLevel?: number;
  readonly memoryFree?: number;
  readonly memoryTotal?: number;
  readonly utcOffset?: string;
  readonly timezone?: string;
  /** 3/0/4 Reboot: runs after the Execute is acknowledged. */
  readonly onReboot?: () => void | Promise<void>;
  /** 3/0/5 Factory Reset. */
  readonly onFactoryReset?: () => void | Promise<void>;
}

const EXECUTABLES: readonly number[] = Object.freeze([4, 5, 12]);
const CURRENT_TIME = 13;

/**
 * Device instance /3/0. Current Time (13) reads the client's clock; a server's Write of it sets an
 * offset kept by this instance. Reboot and Factory Reset call the hooks; Reset Error Code clears 11.
 */
export class DeviceInstance extends StoredInstance {
  readonly #clock: Clock;
  readonly #info: DeviceInfo;
  #timeOffset = 0;

  constructor(clock: Clock, info: DeviceInfo = {}, supportedBinding = 'U') {
    const values = new Map<number, ResourceContent>();
    const put = (id: number, value: ResourceValue | undefined): void => {
      if (value !== undefined) values.set(id, value);
    };
    put(0, info.manufacturer);
    put(1, info.model);
    put(2, info.serialNumber);
    put(3, info.firmwareVersion);
    if (info.powerSources !== undefined) values.set(6, new Map(info.powerSources.map((v, i) => [i, v])));
    put(9, info.batteryLevel);
    put(10, info.memoryFree);
    values.set(11, new Map([[0, 0]]));
    put(14, info.utcOffset);
    put(15, info.timezone);
    values.set(16, supportedBinding);
    put(17, info.deviceType);
    put(18, info.hardwareVersion);
    put(19, info.softwareVersion);
    put(21, info.memoryTotal);
    super(values, EXECUTABLES);
    this.#clock = clock;
    this.#info = info;
  }

  override *resourceIds(): Iterable<number> {
    yield* super.resourceIds();
    yield CURRENT_TIME;
  }

  override read(resourceId: number): ResourceContent | undefined {
    if (resourceId === CURRENT_TIME)
      return new Date(Math.floor((this.#clock.now() + this.#timeOffset) / 1000) * 1000);
    return super.read(resourceId);
  }

  override write(resourceId: number, content: ResourceContent, context: WriteContext): void {
    if (resourceId === CURRENT_TIME && content instanceof Date) {
      this.#timeOffset = content.getTime() - this.#clock.now();
      return;
    }
    super.write(resourceId, content, context);
  }

  override async execute(resourceId: number): Promise<void> {
    if (resourceId === 4) {
      runAfterResponse(this.#info.onReboot);
    } else if (resourceId === 5) {
      runAfterResponse(this.#info.onFactoryReset);
    } else if (resourceId === 12) {
      this.set(11, new Map([[0, 0]]));
    }
  }

  /** Reports an error (3/0/11 holds the active error codes; 0 means none). */
  addErrorCode(code: number): void {
    const current = this.values.get(11);
    const codes = current instanceof Map ? [...current.values()].filter((c) => c !== 0) : [];
    if (!codes.includes(code)) codes.push(code);
    this.set(11, new Map(codes.map((c, i) => [i, c])));
  }
}

export function deviceObject(instance: DeviceInstance): ObjectImplementation {
  return { id: 3, instances: new Map([[0, instance]]) };
}

/** Runs a Reboot / Factory Reset hook once the 2.04 went out, before the device goes down; its failures are the hook's own business. */
function runAfterResponse(hook: (() => void | Promise<void>) | undefined): void {
  if (hook === undefined) return;
  setImmediate(() => {
    Promise.resolve()
      .then(hook)
      .catch(() => undefined);
  });
}
