import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createSilentLogger } from '@lwm2m/core';
import type { Logger, ObjectRegistry } from '@lwm2m/core';
import type { BootstrapConfig } from './config.js';
import { bootstrapConfigToJson, parseBootstrapConfig } from './config-json.js';
import type { JsonValue } from './config-json.js';
import { ConfigIndex } from './config-store.js';
import type { BootstrapConfigStore } from './config-store.js';
import { BootstrapConfigError } from './errors.js';

export interface JsonFileConfigStoreOptions {
  /** The file: `{ "endpoints": { "<endpoint or pattern>": <config>, … } }`. */
  readonly path: string;
  /** Reload when the file changes on disk. Default false (call `reload()`). */
  readonly watch?: boolean;
  /** Milliseconds to wait after a change before reloading (editors write in steps). Default 100. */
  readonly watchDelay?: number;
  readonly registry?: ObjectRegistry;
  readonly logger?: Logger;
}

export interface JsonFileBootstrapConfigStore extends BootstrapConfigStore {
  /** Reads the file again. On a bad file it rejects and the configs in use stay as they were. */
  reload(): Promise<void>;
  /** Stops watching. Idempotent. */
  close(): Promise<void>;
}

/**
 * Configs kept in a JSON file. `put`/`remove` rewrite the file (a temporary file renamed over
 * it, so readers never see half a file); with `watch`, edits made by hand are picked up.
 */
export async function createJsonFileBootstrapConfigStore(
  options: JsonFileConfigStoreOptions,
): Promise<JsonFileBootstrapConfigStore> {
  const logger = options.logger ?? createSilentLogger();
  const parseOptions = options.registry === undefined ? {} : { registry: options.registry };
  let index = new ConfigIndex();
  let closed = false;
  let watcher: FSWatcher | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // put/remove/reload run one at a time, in call order.
  let queue: Promise<unknown> = Promise.resolve();

  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  }

  async function load(): Promise<ConfigIndex> {
    let text: string;
    try {
      text = await readFile(options.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new ConfigIndex();
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new BootstrapConfigError([`not JSON: ${(error as Error).message}`], options.path);
    }
    const endpoints = (json as { endpoints?: unknown } | null)?.endpoints;
    if (typeof endpoints !== 'object' || endpoints === null || Array.isArray(endpoints)) {
      throw new BootstrapConfigError(['the file must hold { "endpoints": { … } }'], options.path);
    }
    const next = new ConfigIndex();
    const problems: string[] = [];
    for (const [key, value] of Object.entries(endpoints)) {
      try {
        next.put(key, parseBootstrapConfig(value, { ...parseOptions, context: key }));
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (problems.length > 0) throw new BootstrapConfigError(problems, options.path);
    return next;
  }

  async function save(next: ConfigIndex): Promise<void> {
    const endpoints: Record<string, JsonValue> = {};
    for (const [key, config] of next.entries()) endpoints[key] = bootstrapConfigToJson(config);
    const temporary = join(dirname(options.path), `.${basename(options.path)}.${process.pid}.tmp`);
    await writeFile(temporary, `${JSON.stringify({ endpoints }, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, options.path);
  }

  /** A copy of the index with one change, saved before it replaces the one in use. */
  async function change(apply: (copy: ConfigIndex) => boolean): Promise<boolean> {
    const copy = new ConfigIndex();
    for (const [key, config] of index.entries()) copy.put(key, config);
    const changed = apply(copy);
    if (changed) {
      await save(copy);
      index = copy;
    }
    return changed;
  }

  const reload = (): Promise<void> =>
    serial(async () => {
      index = await load();
    });

  await reload();

  if (options.watch === true) {
    const name = basename(options.path);
    // The directory, not the file: a rename over the file ends a watch on it.
    watcher = watch(dirname(options.path), (_event, filename) => {
      if (closed || (filename !== null && filename !== name)) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        reload().then(
          () => logger.info({ path: options.path }, 'bootstrap configs reloaded'),
          (error: unknown) =>
            logger.error({ err: error, path: options.path }, 'bootstrap config file not reloaded'),
        );
      }, options.watchDelay ?? 100);
    });
    watcher.on('error', (error) =>
      logger.error({ err: error, path: options.path }, 'bootstrap config watch failed'),
    );
  }

  return {
    get: async (endpoint) => index.get(endpoint),
    getBootstrapPsk: async (identity) => index.getBootstrapPsk(identity),
    put: (key: string, config: BootstrapConfig) =>
      serial(async () => {
        await change((copy) => {
          copy.put(key, config);
          return true;
        });
      }),
    remove: (key) => serial(() => change((copy) => copy.remove(key))),
    entries: async () => index.entries(),
    reload,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
}
