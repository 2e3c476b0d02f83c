import type { InstanceHandler, ObjectImplementation, ResourceContent, WriteContext } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

/** What the Server object's executables and writes ask the client to do. */
export interface ServerActions {
  /** 1/x/4 Disable. */
  disable(ssid: number): void;
  /** 1/x/8 Registration Update Trigger. */
  triggerUpdate(ssid: number): void;
  /** 1/x/9 Bootstrap-Request Trigger. */
  triggerBootstrap(): void;
  /** Lifetime or Binding written: the next Update carries them. */
  registrationParametersChanged(ssid: number): void;
}

/** Settings of one server account (object 1). */
export interface ServerConfig {
  readonly ssid: number;
  /** Registration lifetime in seconds; default 300. */
  readonly lifetime?: number;
  readonly defaultMinPeriod?: number;
  readonly defaultMaxPeriod?: number;
  /** Disable Timeout in seconds; default 86400. */
  readonly disableTimeout?: number;
  /** Notification Storing When Disabled or Offline; default true. */
  readonly notificationStoring?: boolean;
  /** Default `U`. */
  readonly binding?: string;
}

const EXECUTABLES: readonly number[] = Object.freeze([4, 8, 9]);

/** A Server instance (object 1): Disable and Registration Update Trigger reach the client. */
export class ServerInstance extends StoredInstance {
  readonly #actions: ServerActions;

  constructor(actions: ServerActions, config?: ServerConfig) {
    const values = new Map<number, ResourceContent>();
    if (config !== undefined) {
      values.set(0, config.ssid);
      values.set(1, config.lifetime ?? 300);
      if (config.defaultMinPeriod !== undefined) values.set(2, config.defaultMinPeriod);
      if (config.defaultMaxPeriod !== undefined) values.set(3, config.defaultMaxPeriod);
      values.set(5, config.disableTimeout ?? 86400);
      values.set(6, config.notificationStoring ?? true);
      values.set(7, config.binding ?? 'U');
    }
    super(values, EXECUTABLES);
    this.#actions = actions;
  }

  get ssid(): number | undefined {
    const ssid = this.values.get(0);
    return typeof ssid === 'number' ? ssid : undefined;
  }

  override write(resourceId: number, content: ResourceContent, context: WriteContext): void {
    super.write(resourceId, content, context);
    const ssid = this.ssid;
    if (!context.bootstrap && ssid !== undefined && (resourceId === 1 || resourceId === 7)) {
      this.#actions.registrationParametersChanged(ssid);
    }
  }

  override execute(resourceId: number): void {
    const ssid = this.ssid;
    if (resourceId === 9) this.#actions.triggerBootstrap();
    else if (ssid === undefined) return;
    else if (resourceId === 4) this.#actions.disable(ssid);
    else if (resourceId === 8) this.#actions.triggerUpdate(ssid);
  }
}

/**
 * Object 1, without start instances (the client adds them). A class so that its `create` is
 * shared by every client rather than a closure each.
 */
class ServerObject implements ObjectImplementation {
  readonly id = 1;
  readonly #actions: ServerActions;

  constructor(actions: ServerActions) {
    this.#actions = actions;
  }

  create(): InstanceHandler {
    return new ServerInstance(this.#actions);
  }
}

export function serverObject(actions: ServerActions): ObjectImplementation {
  return new ServerObject(actions);
}
