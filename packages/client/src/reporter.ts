import { formatPath, isPathPrefix } from '@lwm2m/core';
import type { Logger, Lwm2mNode, Lwm2mPath } from '@lwm2m/core';
import type { Lwm2mCodec, NotificationAttributes } from '@lwm2m/codecs';
import type { ServerObservation } from '@lwm2m/transport-coap';
import type { AttributeStore } from './attributes.js';
import type { Clock } from '@lwm2m/core';
import type { ObjectTree } from './object-tree.js';
import { LOCAL_CONTEXT } from './object-tree.js';

/** What a {@link Reporter} needs from its server session. */
export interface ReportingHost {
  readonly clock: Clock;
  readonly tree: ObjectTree;
  readonly codec: Lwm2mCodec;
  readonly logger: Logger;
  readonly attributes: AttributeStore;
  /** pmin/pmax of the Server object (1/x/2, 1/x/3). */
  serverDefaults(): NotificationAttributes;
  /** Sends (or stores, when offline) one notification. */
  deliver(target: ObservedTarget, payload: Uint8Array, confirmable: boolean | undefined): void;
}

type Sample = number | boolean | undefined;

/** One observation (Observe or Observe-Composite) and the state its attributes need. */
export class ObservedTarget {
  readonly observation: ServerObservation;
  readonly paths: readonly Lwm2mPath[];
  readonly composite: boolean;
  readonly format: number;
  lastSentAt: number;
  /** The numeric/boolean value of each path at the last notification (for gt, lt, st, edge). */
  lastSamples: Sample[];
  /** The samples at the last evaluation, notified or not (edge looks at every transition). */
  evaluatedSamples: Sample[];
  lastPayload: Uint8Array;
  lastEvaluatedAt: number;
  /** A change met the conditions but pmin (or epmin) held the notification back. */
  pending = false;
  timer: unknown;
  timerAt = 0;

  constructor(
    observation: ServerObservation,
    paths: readonly Lwm2mPath[],
    composite: boolean,
    format: number,
    now: number,
  ) {
    this.observation = observation;
    this.paths = paths;
    this.composite = composite;
    this.format = format;
    this.lastSentAt = now;
    this.lastEvaluatedAt = now;
    this.lastSamples = [];
    this.evaluatedSamples = [];
    this.lastPayload = new Uint8Array(0);
  }
}

function sampleOf(node: Lwm2mNode | undefined): Sample {
  if (node === undefined || (node.kind !== 'resource' && node.kind !== 'resourceInstance')) return undefined;
  const v = node.value;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Seconds to milliseconds for attribute periods. */
const MS = 1000;

/**
 * Evaluates notification attributes (TS Core 1.1/1.2 §5.1.2) for one server's observations:
 * pmin/pmax, gt/lt/st (threshold crossing and step, compared with the last notified value),
 * epmin/epmax (evaluation periods: at most every epmin, at least every epmax), edge (1.2, boolean
 * rising/falling), con (1.2, confirmable). Each observation has at most one timer, set to its next
 * deadline; nothing runs for an observation nobody changes.
 */
export class Reporter {
  readonly #host: ReportingHost;
  readonly #targets = new Map<string, ObservedTarget>();

  constructor(host: ReportingHost) {
    this.#host = host;
  }

  get size(): number {
    return this.#targets.size;
  }

  targets(): IterableIterator<ObservedTarget> {
    return this.#targets.values();
  }

  /** Starts following an accepted observation whose first response carried `nodes`. */
  add(target: ObservedTarget, nodes: readonly (Lwm2mNode | undefined)[], payload: Uint8Array): void {
    this.#targets.get(target.observation.key)?.observation.cancel();
    target.lastSamples = nodes.map(sampleOf);
    target.evaluatedSamples = target.lastSamples;
    target.lastPayload = payload;
    this.#targets.set(target.observation.key, target);
    target.observation.once('cancel', () => this.#remove(target));
    this.#schedule(target);
  }

  /** A resource changed: evaluate every observation that covers it. */
  resourceChanged(path: Lwm2mPath): void {
    for (const target of this.#targets.values()) {
      if (!target.paths.some((p) => isPathPrefix(p, path) || isPathPrefix(path, p))) continue;
      void this.#evaluate(target, false).catch((error: unknown) =>
        this.#host.logger.warn({ err: error }, 'notification failed'),
      );
    }
  }

  /** Attributes changed: deadlines may have moved. */
  reschedule(): void {
    for (const target of this.#targets.values()) this.#schedule(target);
  }

  /** Observations under a deleted instance end. */
  removeBelow(path: Lwm2mPath): void {
    for (const target of [...this.#targets.values()]) {
      if (target.paths.some((p) => isPathPrefix(path, p))) target.observation.cancel();
    }
  }

  close(): void {
    for (const target of [...this.#targets.values()]) target.observation.cancel();
    this.#targets.clear();
  }

  #remove(target: ObservedTarget): void {
    if (this.#targets.get(target.observation.key) === target) this.#targets.delete(target.observation.key);
    this.#clearTimer(target);
  }

  /** The attributes of the whole target: per path for the conditions, the tightest periods overall. */
  #attributes(target: ObservedTarget): NotificationAttributes[] {
    const defaults = this.#host.serverDefaults();
    return target.paths.map((p) => this.#host.attributes.effective(p, defaults));
  }

  #periods(all: readonly NotificationAttributes[]): {
    pmin: number;
    pmax: number | undefined;
    epmin: number;
    epmax: number | undefined;
    con: boolean | undefined;
  } {
    let pmin = Infinity;
    let pmax: number | undefined;
    let epmin = Infinity;
    let epmax: number | undefined;
    let con: boolean | undefined;
    for (const a of all) {
      pmin = Math.min(pmin, a.pmin ?? 0);
      epmin = Math.min(epmin, a.epmin ?? 0);
      // pmax ≤ pmin is ignored (TS Core §5.1.2); 0 means none.
      if (a.pmax !== undefined && a.pmax > 0 && a.pmax >= (a.pmin ?? 0))
        pmax = pmax === undefined ? a.pmax : Math.min(pmax, a.pmax);
      if (a.epmax !== undefined && a.epmax > 0 && a.epmax >= (a.epmin ?? 0))
        epmax = epmax === undefined ? a.epmax : Math.min(epmax, a.epmax);
      if (a.con !== undefined) con = (con ?? false) || a.con === 1;
    }
    return { pmin: pmin === Infinity ? 0 : pmin, pmax, epmin: epmin === Infinity ? 0 : epmin, epmax, con };
  }

  /** Whether the change from the last notified sample to `now` meets a path's conditions. */
  #conditionMet(
    a: NotificationAttributes,
    last: Sample,
    previous: Sample,
    now: Sample,
    changed: boolean,
  ): boolean {
    if (typeof now === 'boolean' && a.edge !== undefined) {
      return previous !== now && (a.edge === 1 ? now : !now);
    }
    const thresholds = a.gt !== undefined || a.lt !== undefined || a.st !== undefined;
    if (!thresholds || typeof now !== 'number') return changed;
    if (typeof last !== 'number') return true;
    if (a.gt !== undefined && last <= a.gt !== now <= a.gt) return true;
    if (a.lt !== undefined && last < a.lt !== now < a.lt) return true;
    if (a.st !== undefined && Math.abs(now - last) >= a.st) return true;
    return false;
  }

  async #read(
    target: ObservedTarget,
  ): Promise<{ nodes: (Lwm2mNode | undefined)[]; payload: Uint8Array } | undefined> {
    const { tree, codec } = this.#host;
    try {
      if (!target.composite) {
        const path = target.paths[0] as Lwm2mPath;
        const node = await tree.read(path, LOCAL_CONTEXT);
        return { nodes: [node], payload: codec.encode(target.format, node, path) };
      }
      const nodes: (Lwm2mNode | undefined)[] = [];
      const map = new Map<string, Lwm2mNode>();
      for (const path of target.paths) {
        const node = await tree.read(path, LOCAL_CONTEXT).catch(() => undefined);
        nodes.push(node);
        if (node !== undefined) map.set(formatPath(path), node);
      }
      return { nodes, payload: codec.encodeComposite(target.format, map) };
    } catch (error) {
      // The target went away (instance deleted): the observation ends with it.
      this.#host.logger.debug(
        { err: error, path: target.paths.map(formatPath) },
        'observed path unreadable; cancelling',
      );
      target.observation.cancel();
      return undefined;
    }
  }

  /**
   * Evaluates a target now. `timer` is true when its deadline fired (pmin over, pmax reached or
   * an epmax sample due), false on a change report.
   */
  async #evaluate(target: ObservedTarget, timer: boolean): Promise<void> {
    if (!target.observation.active) return;
    const now = this.#host.clock.now();
    const all = this.#attributes(target);
    const periods = this.#periods(all);
    if (!timer && now - target.lastEvaluatedAt < periods.epmin * MS) {
      // Changes inside epmin are looked at when it ends.
      target.pending = true;
      this.#schedule(target);
      return;
    }
    const current = await this.#read(target);
    if (current === undefined || !target.observation.active) return;
    target.lastEvaluatedAt = now;
    const samples = current.nodes.map(sampleOf);
    const changed = !equalBytes(current.payload, target.lastPayload);
    let met = false;
    for (let i = 0; i < all.length; i++) {
      if (
        this.#conditionMet(
          all[i] as NotificationAttributes,
          target.lastSamples[i],
          target.evaluatedSamples[i],
          samples[i],
          changed,
        )
      )
        met = true;
    }
    target.evaluatedSamples = samples;
    if (target.pending && timer) met = met || changed;
    const pmaxDue = periods.pmax !== undefined && now - target.lastSentAt >= periods.pmax * MS;
    if ((met && now - target.lastSentAt >= periods.pmin * MS) || pmaxDue) {
      target.pending = false;
      target.lastSentAt = now;
      target.lastSamples = samples;
      target.lastPayload = current.payload;
      this.#host.deliver(target, current.payload, periods.con);
    } else if (met) {
      target.pending = true;
    }
    this.#schedule(target);
  }

  #schedule(target: ObservedTarget): void {
    if (!target.observation.active) return;
    const periods = this.#periods(this.#attributes(target));
    let at = Infinity;
    if (target.pending)
      at = Math.max(target.lastSentAt + periods.pmin * MS, target.lastEvaluatedAt + periods.epmin * MS);
    if (periods.pmax !== undefined) at = Math.min(at, target.lastSentAt + periods.pmax * MS);
    if (periods.epmax !== undefined) at = Math.min(at, target.lastEvaluatedAt + periods.epmax * MS);
    if (at === Infinity) {
      this.#clearTimer(target);
      return;
    }
    if (target.timer !== undefined && target.timerAt === at) return;
    this.#clearTimer(target);
    const { clock } = this.#host;
    target.timerAt = at;
    target.timer = clock.setTimeout(
      () => {
        target.timer = undefined;
        void this.#evaluate(target, true).catch((error: unknown) =>
          this.#host.logger.warn({ err: error }, 'notification failed'),
        );
      },
      Math.max(0, at - clock.now()),
    );
  }

  #clearTimer(target: ObservedTarget): void {
    if (target.timer !== undefined) this.#host.clock.clearTimeout(target.timer);
    target.timer = undefined;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
