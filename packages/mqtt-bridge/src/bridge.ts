import { EventEmitter, setMaxListeners } from 'node:events';
import {
  ClosedError,
  ContentFormat,
  createSilentLogger,
  formatPath,
  parsePath,
  TimeoutError,
} from '@lwm2m/core';
import type { Logger, Lwm2mNode, Lwm2mPath } from '@lwm2m/core';
import type {
  Lwm2mServer,
  NotificationEvent,
  ObservationValue,
  Registration,
  SendEvent,
  ServerEvents,
} from '@lwm2m/server';
import { connect } from 'mqtt';
import type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { BridgeConfigError, BridgeRequestError } from './errors.js';
import { errorStatus } from './error-status.js';
import { nodeToJson, nodesToJson } from './json-values.js';
import type { JsonValue } from './json-values.js';
import { createObservationWatches } from './observation-watches.js';
import type { ObservationWatches } from './observation-watches.js';
import { createInstance, parseJsonBody, parseRequest, readRequestId } from './request-body.js';
import type { BridgeRequest, RequestId } from './request-body.js';
import {
  checkPrefix,
  decodeTopicLevel,
  endpointTopic,
  isPublishableTopic,
  parseRequestTopic,
  sensorTopic,
} from './topic.js';
import type { BridgeMethod } from './topic.js';

/** Connection settings for an MQTT client the bridge creates and owns. */
export interface MqttConnectSettings {
  readonly url: string;
  /** mqtt.js options, over the bridge's defaults (MQTT 5, persistent session, QoS 1). */
  readonly options?: IClientOptions;
}

/** Who asks, as far as MQTT tells: what the authorization hook decides on. */
export interface CallerContext {
  /** The request topic as published. */
  readonly topic: string;
  readonly endpoint: string;
  readonly method: BridgeMethod;
  /** The topic's path (`/3/0/1`), or the body's paths for composite requests. */
  readonly paths: readonly string[];
  /** MQTT 5 user properties of the request (a broker plugin may put the publisher's identity there). */
  readonly userProperties: Readonly<Record<string, string | string[]>>;
  /** MQTT 5 response topic, when the caller gave one. */
  readonly responseTopic: string | undefined;
}

/** Resolves true to let the caller act on the endpoint; false (or a throw) answers 4.03. */
export type BridgeAuthorizer = (caller: CallerContext) => boolean | Promise<boolean>;

/** How notifications and Send data are published on sensor topics. */
export type SensorFormat = 'value' | 'raw' | 'senml';

export interface MqttBridgeOptions {
  readonly server: Lwm2mServer;
  /** A ready mqtt.js client (its session settings are yours), or settings for one the bridge owns. */
  readonly mqtt: MqttClient | MqttConnectSettings;
  /** Topic prefix, one or more levels; default `lwm2m`. */
  readonly prefix?: string;
  readonly authorize?: BridgeAuthorizer;
  readonly logger?: Logger;
  /** Default time a request may take, queue-mode wait included; default 30 s. */
  readonly requestTimeout?: number;
  /** Largest `timeout` a request body may ask for; default 10 min. */
  readonly maxTimeout?: number;
  /** Largest request body in bytes; default 64 KiB (answered 4.13 beyond). */
  readonly maxBodySize?: number;
  /** Most paths in a composite request; default 100. */
  readonly maxPaths?: number;
  /** Most observations made through MQTT per endpoint; default 100. */
  readonly maxObservationsPerEndpoint?: number;
  /** Requests being worked on at once; beyond it requests are answered 5.03; default 10 000. */
  readonly maxInFlight?: number;
  /**
   * A request with an `id` repeated within this many ms with the same topic and body (a QoS 1
   * redelivery) gets the first one's answer instead of running twice; default 60 s, 0 disables.
   */
  readonly duplicateWindow?: number;
  /** `value` (default: JSON with value and timestamp), `raw` (the JSON value alone) or `senml` (SenML JSON). */
  readonly sensorFormat?: SensorFormat;
  /** Shared subscription group (`$share/{group}/…`) for several bridge processes on one prefix. */
  readonly sharedGroup?: string;
  /** On close, how long in-flight requests may finish before they are aborted; default 5 s. */
  readonly closeTimeout?: number;
  /** Clock for timestamps in published messages (epoch ms). */
  readonly now?: () => number;
}

/** One answered request, as the `response` event reports it. */
export interface ResponseInfo {
  readonly topic: string;
  readonly responseTopic: string;
  readonly status: string;
  readonly id: RequestId | undefined;
  readonly duration: number;
}

export interface MqttBridgeEvents {
  response: [info: ResponseInfo];
}

export interface StartOptions {
  readonly signal?: AbortSignal;
  /** How long to wait for the broker on start; default 30 s. */
  readonly timeout?: number;
}

type ResponseBody = { [key: string]: JsonValue | undefined };

interface Outcome {
  readonly status: string;
  readonly fields: ResponseBody;
}

const DEFAULTS = {
  prefix: 'lwm2m',
  requestTimeout: 30_000,
  maxTimeout: 600_000,
  maxBodySize: 64 * 1024,
  maxPaths: 100,
  maxObservationsPerEndpoint: 100,
  maxInFlight: 10_000,
  duplicateWindow: 60_000,
  closeTimeout: 5_000,
  startTimeout: 30_000,
  sessionExpiry: 3600,
} as const;

/** Most remembered answers for duplicate detection, whatever the window. */
const MAX_REMEMBERED = 10_000;

const STATUS_OF: Readonly<Record<BridgeMethod, string>> = {
  GET: '2.05',
  PUT: '2.04',
  POST: '2.04',
  DELETE: '2.02',
  CREATE: '2.01',
  DISCOVER: '2.05',
  'WRITE-ATTRIBUTES': '2.04',
  OBSERVE: '2.05',
  'CANCEL-OBSERVE': '2.05',
  'READ-COMPOSITE': '2.05',
  'WRITE-COMPOSITE': '2.04',
  'OBSERVE-COMPOSITE': '2.05',
  'CANCEL-OBSERVE-COMPOSITE': '2.05',
};

function isClient(value: MqttClient | MqttConnectSettings): value is MqttClient {
  return (
    typeof (value as MqttClient).publish === 'function' &&
    typeof (value as MqttClient).subscribe === 'function'
  );
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < (allowZero ? 0 : 1))
    throw new BridgeConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  return value;
}

/**
 * The MQTT northbound API of an LwM2M server: requests on `{prefix}/requests/{ep}/{METHOD}{path}`
 * answered on `{prefix}/responses/…` (or the MQTT 5 response topic), notifications and Send data on
 * `{prefix}/{ep}/sensor{path}`, registration events and a retained presence per endpoint.
 */
export class MqttBridge extends EventEmitter<MqttBridgeEvents> {
  readonly server: Lwm2mServer;
  readonly client: MqttClient;
  readonly prefix: string;
  readonly #ownsClient: boolean;
  readonly #logger: Logger;
  readonly #authorize: BridgeAuthorizer | undefined;
  readonly #now: () => number;
  readonly #requestTimeout: number;
  readonly #limits: { maxTimeout: number; maxPaths: number };
  readonly #maxBodySize: number;
  readonly #maxInFlight: number;
  readonly #duplicateWindow: number;
  readonly #closeTimeout: number;
  readonly #sensorFormat: SensorFormat;
  readonly #requestsPrefix: string;
  readonly #subscription: string;
  readonly #presenceSubscription: string;
  readonly #statusTopic: string;
  readonly #watches: ObservationWatches;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  /** Answers by request key (topic, correlation data, body) for duplicate detection. */
  readonly #recent = new Map<string, { at: number; outcome: Promise<Outcome> }>();
  readonly #serverListeners: [keyof ServerEventMap, (...args: never[]) => void][] = [];
  readonly #clientListeners: [string, (...args: never[]) => void][] = [];
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MqttBridgeOptions) {
    super();
    this.server = options.server;
    this.prefix = checkPrefix(options.prefix ?? DEFAULTS.prefix);
    this.#logger = options.logger ?? createSilentLogger();
    this.#authorize = options.authorize;
    this.#now = options.now ?? Date.now;
    this.#requestTimeout = positive('requestTimeout', options.requestTimeout, DEFAULTS.requestTimeout);
    this.#limits = {
      maxTimeout: positive('maxTimeout', options.maxTimeout, DEFAULTS.maxTimeout),
      maxPaths: positive('maxPaths', options.maxPaths, DEFAULTS.maxPaths),
    };
    this.#maxBodySize = positive('maxBodySize', options.maxBodySize, DEFAULTS.maxBodySize);
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight, DEFAULTS.maxInFlight);
    this.#duplicateWindow = positive(
      'duplicateWindow',
      options.duplicateWindow,
      DEFAULTS.duplicateWindow,
      true,
    );
    this.#closeTimeout = positive('closeTimeout', options.closeTimeout, DEFAULTS.closeTimeout, true);
    this.#sensorFormat = options.sensorFormat ?? 'value';
    if (!['value', 'raw', 'senml'].includes(this.#sensorFormat))
      throw new BridgeConfigError(`unknown sensorFormat ${JSON.stringify(this.#sensorFormat)}`);
    this.#requestsPrefix = `${this.prefix}/requests/`;
    this.#statusTopic = `${this.prefix}/bridge/status`;
    const group = options.sharedGroup;
    if (group !== undefined && !/^[^/+#\u0000]+$/.test(group))
      throw new BridgeConfigError('sharedGroup must be one topic level without wildcards');
    this.#subscription = `${group === undefined ? '' : `$share/${group}/`}${this.#requestsPrefix}#`;
    this.#presenceSubscription = `${this.prefix}/+/presence`;
    // Every in-flight request listens on the one close signal.
    setMaxListeners(0, this.#abort.signal);
    this.#watches = createObservationWatches(
      this.server,
      this.#logger,
      positive(
        'maxObservationsPerEndpoint',
        options.maxObservationsPerEndpoint,
        DEFAULTS.maxObservationsPerEndpoint,
      ),
    );

    if (isClient(options.mqtt)) {
      this.client = options.mqtt;
      this.#ownsClient = false;
    } else {
      const settings = options.mqtt;
      if (typeof settings?.url !== 'string')
        throw new BridgeConfigError('mqtt needs a client or { url, options }');
      const given = settings.options ?? {};
      const protocolVersion = given.protocolVersion ?? 5;
      this.client = connect(settings.url, {
        protocolVersion,
        clean: false,
        clientId: `lwm2m-bridge-${this.prefix.replace(/[^A-Za-z0-9_-]/g, '_')}`,
        reconnectPeriod: 1000,
        ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: DEFAULTS.sessionExpiry } } : {}),
        will: { topic: this.#statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
        ...given,
        manualConnect: true,
      });
      this.#ownsClient = true;
    }
  }

  /** Connects (when the bridge owns the client), subscribes and starts publishing. Idempotent. */
  start(options: StartOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('bridge closed'));
    this.#starting ??= this.#start(options);
    return this.#starting;
  }

  async #start(options: StartOptions): Promise<void> {
    this.#listen();
    const connected = this.client.connected ? Promise.resolve() : this.#waitConnected(options);
    if (this.#ownsClient) this.client.connect();
    await connected;
    await this.#subscribe();
    await this.#publishCurrentPresence();
  }

  #waitConnected(options: StartOptions): Promise<void> {
    const timeout = options.timeout ?? DEFAULTS.startTimeout;
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.client.off('connect', onConnect);
        options.signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onConnect = (): void => done();
      const onAbort = (): void => done(new ClosedError('bridge start aborted'));
      const timer = setTimeout(
        () => done(new TimeoutError(`MQTT broker not reached within ${timeout} ms`)),
        timeout,
      );
      this.client.on('connect', onConnect);
      if (options.signal?.aborted === true) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #subscribe(): Promise<void> {
    const v5 = this.client.options.protocolVersion === 5;
    // No Local (MQTT 5): an endpoint named "requests" must not feed our own events back to us.
    await this.client.subscribeAsync({
      [this.#subscription]: { qos: 1, ...(v5 ? { nl: true } : {}) },
      [this.#presenceSubscription]: { qos: 1, ...(v5 ? { nl: true } : {}) },
    });
  }

  #on<K extends keyof ServerEventMap>(event: K, listener: (...args: ServerEventMap[K]) => void): void {
    this.server.on(event, listener as never);
    this.#serverListeners.push([event, listener as never]);
  }

  #onClient(event: string, listener: (...args: never[]) => void): void {
    this.client.on(event as 'message', listener as never);
    this.#clientListeners.push([event, listener]);
  }

  #listen(): void {
    this.#onClient('message', ((topic: string, payload: Buffer, packet: IPublishPacket) =>
      this.#onMessage(topic, payload, packet)) as never);
    this.#onClient('error', ((error: Error) =>
      this.#logger.warn({ err: error }, 'mqtt bridge: MQTT client error')) as never);
    this.#onClient('connect', (() => {
      // Nagle's algorithm against the peer's delayed ACK adds tens of ms to every answer.
      (this.client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.#logger.info({ prefix: this.prefix }, 'mqtt bridge: connected');
      if (this.#ownsClient) this.#publish(this.#statusTopic, 'online', { qos: 1, retain: true });
    }) as never);
    this.#onClient('offline', (() =>
      this.#logger.warn('mqtt bridge: broker unreachable, reconnecting')) as never);

    this.#on('registered', (registration) => {
      this.#publishEvent(registration, 'registered');
      this.#publishPresence(registration.endpoint, 'online');
      this.#watches.restore(registration.endpoint, this.#requestTimeout);
    });
    this.#on('updated', (registration) => {
      this.#publishEvent(registration, 'updated');
      this.#publishPresence(registration.endpoint, 'online');
      // An observation lost without a new registration (the device restarted its CoAP state) comes back here.
      this.#watches.restore(registration.endpoint, this.#requestTimeout);
    });
    this.#on('deregistered', (registration) => {
      this.#publishEvent(registration, 'deregistered');
      this.#publishPresence(registration.endpoint, 'offline');
    });
    this.#on('expired', (registration) => {
      this.#publishEvent(registration, 'expired');
      this.#publishPresence(registration.endpoint, 'offline');
    });
    this.#on('awake', (registration) => this.#publishPresence(registration.endpoint, 'online'));
    this.#on('sleeping', (registration) => this.#publishPresence(registration.endpoint, 'sleeping'));
    this.#on('notification', (event) => this.#onNotification(event));
    this.#on('send', (event) => this.#onSend(event));
  }

  /** Stops taking requests, lets running ones finish (then aborts them), disconnects an owned client. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    for (const [event, listener] of this.#serverListeners) this.server.off(event, listener as never);
    this.#serverListeners.length = 0;
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.#closeTimeout);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#abort.abort(new ClosedError('bridge closing'));
    await Promise.allSettled([...this.#inFlight]);
    for (const [event, listener] of this.#clientListeners)
      this.client.off(event as 'message', listener as never);
    this.#clientListeners.length = 0;
    // The owned client keeps an error listener: a late socket error must not crash the process.
    if (this.#ownsClient) {
      this.client.on('error', () => undefined);
      if (this.client.connected)
        await this.#publishAsync(this.#statusTopic, 'offline', { qos: 1, retain: true }, 1000);
      await this.#endClient();
    }
  }

  async #endClient(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ended = this.client.endAsync(false).catch(() => undefined);
    const late = await Promise.race([
      ended.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), 2000);
      }),
    ]);
    clearTimeout(timer);
    if (late) await this.client.endAsync(true).catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** How many observations made through MQTT the bridge keeps for an endpoint. */
  observationCount(endpoint: string): number {
    return this.#watches.count(endpoint);
  }

  // ---- publishing ---------------------------------------------------------------------------

  #publish(topic: string, payload: string | Buffer, options: IClientPublishOptions): void {
    this.client.publish(topic, payload, options, (error) => {
      if (error !== undefined && error !== null)
        this.#logger.warn({ err: error, topic }, 'mqtt bridge: publish failed');
    });
  }

  async #publishAsync(
    topic: string,
    payload: string,
    options: IClientPublishOptions,
    timeout: number,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.client.publishAsync(topic, payload, options).catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeout);
      }),
    ]);
    clearTimeout(timer);
  }

  #publishJson(topic: string, body: unknown, options: IClientPublishOptions = { qos: 1 }): void {
    this.#publish(topic, JSON.stringify(body), options);
  }

  #publishEvent(
    registration: Registration,
    event: 'registered' | 'updated' | 'deregistered' | 'expired',
  ): void {
    const ended = event === 'deregistered' || event === 'expired';
    this.#publishJson(endpointTopic(this.prefix, registration.endpoint, event), {
      endpoint: registration.endpoint,
      registrationId: registration.id,
      location: `/rd/${registration.id}`,
      timestamp: this.#now(),
      ...(ended
        ? {}
        : {
            lifetime: registration.lifetime,
            version: registration.version,
            binding: registration.binding,
            queueMode: registration.queueMode,
            transport: registration.transport,
            address: registration.address,
            port: registration.port,
            objectLinks: registration.objectLinks,
          }),
    });
  }

  #publishPresence(endpoint: string, state: 'online' | 'offline' | 'sleeping'): void {
    this.#publishJson(
      endpointTopic(this.prefix, endpoint, 'presence'),
      { state, timestamp: this.#now() },
      { qos: 1, retain: true },
    );
  }

  async #publishCurrentPresence(): Promise<void> {
    try {
      for await (const registration of this.server.registrations.all()) {
        const asleep = registration.queueMode && !this.server.isAwake(registration.endpoint);
        this.#publishPresence(registration.endpoint, asleep ? 'sleeping' : 'online');
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'mqtt bridge: could not list registrations for presence');
    }
  }

  /** A retained presence left by an earlier run for an endpoint no longer registered is set offline. */
  async #onRetainedPresence(topic: string, payload: Buffer): Promise<void> {
    const level = topic.slice(this.prefix.length + 1, -'/presence'.length);
    let endpoint: string;
    try {
      endpoint = decodeTopicLevel(level);
    } catch {
      return;
    }
    let state: unknown;
    try {
      state = (JSON.parse(payload.toString('utf8')) as { state?: unknown }).state;
    } catch {
      state = undefined;
    }
    if (state === 'offline') return;
    if ((await this.server.getRegistration(endpoint)) === undefined)
      this.#publishPresence(endpoint, 'offline');
  }

  #sensorPayload(
    endpoint: string,
    path: Lwm2mPath,
    node: Lwm2mNode,
    timestamp: number,
    source: 'notification' | 'send',
  ): string {
    if (this.#sensorFormat === 'raw') return JSON.stringify(nodeToJson(node));
    if (this.#sensorFormat === 'senml') {
      const data = [{ time: timestamp / 1000, nodes: new Map([[formatPath(path), node]]) }];
      return Buffer.from(this.server.codec.encodeTimestamped(ContentFormat.SENML_JSON, data, path)).toString(
        'utf8',
      );
    }
    return JSON.stringify({ endpoint, path: formatPath(path), value: nodeToJson(node), timestamp, source });
  }

  #publishSensor(
    endpoint: string,
    path: Lwm2mPath,
    node: Lwm2mNode,
    timestamp: number,
    source: 'notification' | 'send',
  ): void {
    let payload: string;
    try {
      payload = this.#sensorPayload(endpoint, path, node, timestamp, source);
    } catch (error) {
      this.#logger.warn({ err: error, endpoint, path: formatPath(path) }, 'mqtt bridge: value not published');
      return;
    }
    this.#publish(sensorTopic(this.prefix, endpoint, path), payload, { qos: 1 });
  }

  #onNotification(event: NotificationEvent): void {
    const endpoint = event.registration.endpoint;
    const now = this.#now();
    const value = event.value;
    if (!value.composite) {
      this.#publishSensor(endpoint, value.path, value.node, now, 'notification');
      return;
    }
    for (const [path, node] of value.nodes)
      this.#publishSensor(endpoint, parsePathKey(path), node, now, 'notification');
  }

  #onSend(event: SendEvent): void {
    const endpoint = event.registration.endpoint;
    for (const group of event.data) {
      const timestamp = group.time === undefined ? this.#now() : Math.round(group.time * 1000);
      for (const [path, node] of group.nodes)
        this.#publishSensor(endpoint, parsePathKey(path), node, timestamp, 'send');
    }
  }

  // ---- requests -----------------------------------------------------------------------------

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (!topic.startsWith(this.#requestsPrefix)) {
      if (packet.retain && topic.endsWith('/presence')) {
        this.#onRetainedPresence(topic, payload).catch((error: unknown) =>
          this.#logger.warn({ err: error, topic }, 'mqtt bridge: presence check failed'),
        );
      }
      return;
    }
    const task = this.#handle(topic, payload, packet).catch((error: unknown) => {
      this.#logger.error({ err: error, topic }, 'mqtt bridge: request handling failed');
    });
    this.#inFlight.add(task);
    void task.finally(() => this.#inFlight.delete(task));
  }

  async #handle(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const started = this.#now();
    const remainder = topic.slice(this.#requestsPrefix.length);
    const properties = packet.properties;
    const correlationData = properties?.correlationData;
    const askedTopic = properties?.responseTopic;
    // A response topic among the request topics would feed answers back in as requests.
    const useAsked =
      askedTopic !== undefined &&
      isPublishableTopic(askedTopic) &&
      !askedTopic.startsWith(this.#requestsPrefix);
    const responseTopic = useAsked ? askedTopic : `${this.prefix}/responses/${remainder}`;

    let body: Record<string, unknown> | undefined;
    try {
      body = payload.byteLength > this.#maxBodySize ? undefined : parseJsonBody(payload);
    } catch {
      body = undefined;
    }
    let outcome: Outcome;
    const key = this.#duplicateKey(topic, payload, correlationData);
    const earlier = key === undefined ? undefined : this.#recent.get(key);
    if (earlier !== undefined && started - earlier.at <= this.#duplicateWindow) {
      this.#logger.debug({ topic }, 'mqtt bridge: duplicate request answered from the first one');
      outcome = await earlier.outcome;
    } else {
      let resolveOutcome: (o: Outcome) => void = () => undefined;
      const shared = new Promise<Outcome>((resolve) => {
        resolveOutcome = resolve;
      });
      try {
        if (payload.byteLength > this.#maxBodySize) {
          throw new BridgeRequestError(
            'ERR_BODY_TOO_LARGE',
            '4.13',
            `body of ${payload.byteLength} bytes is larger than ${this.#maxBodySize}`,
          );
        }
        body = parseJsonBody(payload);
        if (key !== undefined && readRequestId(body) !== undefined) this.#remember(key, started, shared);
        if (askedTopic !== undefined && !useAsked) {
          throw new BridgeRequestError(
            'ERR_BAD_RESPONSE_TOPIC',
            '4.00',
            `response topic ${JSON.stringify(askedTopic)} is not a topic the bridge may publish to (wildcards, or under ${this.#requestsPrefix})`,
          );
        }
        if (this.#closing !== undefined)
          throw new BridgeRequestError('ERR_BRIDGE_CLOSING', '5.03', 'the bridge is shutting down');
        if (this.#inFlight.size > this.#maxInFlight)
          throw new BridgeRequestError('ERR_BRIDGE_CLOSING', '5.03', 'too many requests in flight');
        const request = parseRequest(parseRequestTopic(remainder), body, this.server.registry, this.#limits);
        await this.#checkCaller(topic, request, properties?.userProperties ?? {}, askedTopic);
        outcome = await this.#execute(request);
      } catch (error) {
        const { status, code, message } = errorStatus(error);
        if (status === '5.00')
          this.#logger.error({ err: error, topic }, 'mqtt bridge: request failed unexpectedly');
        outcome = { status, fields: { error: { code, message } } };
      }
      resolveOutcome(outcome);
    }

    const response: ResponseBody = {
      id: readRequestId(body),
      code: outcome.status,
      ...this.#describe(remainder),
      timestamp: this.#now(),
      ...outcome.fields,
    };
    const options: IClientPublishOptions = {
      qos: 1,
      ...(this.client.options.protocolVersion === 5
        ? {
            properties: {
              contentType: 'application/json',
              ...(correlationData === undefined ? {} : { correlationData }),
            },
          }
        : {}),
    };
    this.#publishJson(responseTopic, response, options);
    this.emit('response', {
      topic,
      responseTopic,
      status: outcome.status,
      id: readRequestId(body),
      duration: this.#now() - started,
    });
  }

  /** Endpoint, method and path for the response, as far as the topic tells them. */
  #describe(remainder: string): ResponseBody {
    const [endpointLevel, method, ...path] = remainder.split('/');
    let endpoint: string | undefined;
    try {
      endpoint = endpointLevel === undefined ? undefined : decodeTopicLevel(endpointLevel);
    } catch {
      endpoint = undefined;
    }
    return { endpoint, method, path: path.length === 0 ? undefined : `/${path.join('/')}` };
  }

  #duplicateKey(topic: string, payload: Buffer, correlationData: Buffer | undefined): string | undefined {
    if (this.#duplicateWindow === 0 || payload.byteLength === 0 || payload.byteLength > this.#maxBodySize)
      return undefined;
    return `${topic}\u0000${correlationData === undefined ? '' : correlationData.toString('base64')}\u0000${payload.toString('latin1')}`;
  }

  #remember(key: string, at: number, outcome: Promise<Outcome>): void {
    // Oldest first (Map order): drop what fell out of the window, and the oldest beyond the cap.
    for (const [k, entry] of this.#recent) {
      if (at - entry.at <= this.#duplicateWindow && this.#recent.size < MAX_REMEMBERED) break;
      this.#recent.delete(k);
    }
    this.#recent.set(key, { at, outcome });
  }

  async #checkCaller(
    topic: string,
    request: BridgeRequest,
    userProperties: Readonly<Record<string, string | string[]>>,
    responseTopic: string | undefined,
  ): Promise<void> {
    if (this.#authorize === undefined) return;
    const paths = requestPaths(request);
    let allowed = false;
    try {
      allowed = await this.#authorize({
        topic,
        endpoint: request.endpoint,
        method: request.method,
        paths,
        userProperties,
        responseTopic,
      });
    } catch (error) {
      this.#logger.warn({ err: error, topic }, 'mqtt bridge: authorizer threw; refusing');
    }
    if (allowed !== true)
      throw new BridgeRequestError(
        'ERR_FORBIDDEN',
        '4.03',
        `not allowed to ${request.method} on ${JSON.stringify(request.endpoint)}`,
      );
  }

  async #execute(request: BridgeRequest): Promise<Outcome> {
    const server = this.server;
    const ep = request.endpoint;
    const options = { timeout: request.timeout ?? this.#requestTimeout, signal: this.#abort.signal };
    const withFormat = (format: number | undefined): typeof options & { format?: number } =>
      format === undefined ? options : { ...options, format };
    const ok = (fields: ResponseBody = {}): Outcome => ({ status: STATUS_OF[request.method], fields });
    switch (request.method) {
      case 'GET':
        return ok({ value: nodeToJson(await server.read(ep, request.path, withFormat(request.format))) });
      case 'PUT':
        await server.write(ep, request.path, request.node, {
          ...withFormat(request.format),
          mode: 'replace',
        });
        return ok();
      case 'POST':
        if (request.action === 'execute') await server.execute(ep, request.path, request.args, options);
        else
          await server.write(ep, request.path, request.node, {
            ...withFormat(request.format),
            mode: 'update',
          });
        return ok();
      case 'DELETE':
        await server.delete(ep, request.path, options);
        return ok();
      case 'CREATE': {
        const instanceId =
          request.instance ??
          (await this.#freeInstanceId(request.endpoint, request.path[0] as number, options));
        const created = await server.create(
          ep,
          request.path,
          createInstance(request, instanceId, server.registry),
          withFormat(request.format),
        );
        return ok({ location: formatPath(created) });
      }
      case 'DISCOVER': {
        const links = await server.discover(ep, request.path, options);
        return ok({
          links: links.map((link) => ({
            path: formatPath(link.path),
            ...(link.version === undefined ? {} : { version: link.version }),
            ...(link.dim === undefined ? {} : { dim: link.dim }),
            ...(Object.keys(link.attributes).length === 0 ? {} : { attributes: { ...link.attributes } }),
          })),
        });
      }
      case 'WRITE-ATTRIBUTES':
        await server.writeAttributes(ep, request.path, { set: request.set, unset: request.unset }, options);
        return ok();
      case 'OBSERVE':
      case 'OBSERVE-COMPOSITE': {
        const composite = request.method === 'OBSERVE-COMPOSITE';
        const paths = 'paths' in request ? request.paths : [request.path];
        const { value, reused } = await this.#watches.observe(ep, paths, composite, {
          format: request.format,
          timeout: options.timeout,
          signal: options.signal,
        });
        return ok({ ...observationFields(value), observing: true, ...(reused ? { reused: true } : {}) });
      }
      case 'CANCEL-OBSERVE':
      case 'CANCEL-OBSERVE-COMPOSITE': {
        const composite = request.method === 'CANCEL-OBSERVE-COMPOSITE';
        const paths = 'paths' in request ? request.paths : [request.path];
        if (!(await this.#watches.cancel(ep, paths, composite))) {
          throw new BridgeRequestError(
            'ERR_NOT_OBSERVED',
            '4.04',
            `no observation of ${paths.map(formatPath).join(', ')} on ${JSON.stringify(ep)}`,
          );
        }
        return ok({ observing: false });
      }
      case 'READ-COMPOSITE':
        return ok({
          values: nodesToJson(await server.readComposite(ep, request.paths, withFormat(request.format))),
        });
      case 'WRITE-COMPOSITE':
        await server.writeComposite(ep, request.nodes, withFormat(request.format));
        return ok();
    }
  }

  /** CREATE without an instance id: the lowest id the device does not list in Discover. */
  async #freeInstanceId(
    endpoint: string,
    objectId: number,
    options: { timeout: number; signal: AbortSignal },
  ): Promise<number> {
    const links = await this.server.discover(endpoint, [objectId], options);
    const used = new Set(links.filter((l) => l.path.length === 2).map((l) => l.path[1] as number));
    let id = 0;
    while (used.has(id)) id++;
    return id;
  }
}

type ServerEventMap = ServerEvents;

/** The paths a request touches, formatted, for the authorizer. */
function requestPaths(request: BridgeRequest): string[] {
  if (request.method === 'WRITE-COMPOSITE') return [...request.nodes.keys()];
  if ('paths' in request) return request.paths.map(formatPath);
  return [formatPath(request.path)];
}

/** Composite keys are formatted paths from the codec. */
function parsePathKey(key: string): Lwm2mPath {
  return parsePath(key);
}

function observationFields(value: ObservationValue): ResponseBody {
  return value.composite ? { values: nodesToJson(value.nodes) } : { value: nodeToJson(value.node) };
}

/** Creates an MQTT bridge for a server; call `start()` to connect and subscribe. */
export function createMqttBridge(options: MqttBridgeOptions): MqttBridge {
  return new MqttBridge(options);
}
