import type { Clock } from '@lwm2m/core';
import { FirmwareUpdateError } from '../errors.js';
import { UpdateResult } from './update-result.js';

/** How far a download got; `total` when the server said. */
export interface DownloadProgress {
  readonly received: number;
  readonly total: number | undefined;
}

export interface HttpDownloadOptions {
  readonly fetch: typeof globalThis.fetch;
  readonly clock: Clock;
  readonly maxSize: number;
  /** Connections that may fail in a row (without bringing any bytes) before the download fails. */
  readonly attempts: number;
  /** Pause before resuming after a broken connection, in ms. */
  readonly retryDelay: number;
  readonly signal: AbortSignal;
  readonly onProgress: (progress: DownloadProgress) => void;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

function wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Downloads an `http://` or `https://` package with streaming reads. When the connection breaks,
 * it asks for the rest with `Range: bytes=N-` (and `If-Range` with the ETag it saw), keeping what
 * it has when the server answers 206 and starting over on a 200. Fails with a
 * {@link FirmwareUpdateError}: 7 on 404/410, 2 over `maxSize`, 4 when the attempts run out.
 */
export async function downloadHttp(url: URL, options: HttpDownloadOptions): Promise<Uint8Array> {
  let chunks: Uint8Array[] = [];
  let received = 0;
  let total: number | undefined;
  let validator: string | undefined;
  let lastError: unknown;
  // Failed connections in a row; one that brought bytes resets the count.
  let failures = 0;
  let progressAt = -1;
  for (;;) {
    if (progressAt >= 0) {
      failures = received > progressAt ? 1 : failures + 1;
      if (failures >= options.attempts) break;
      await wait(options.clock, options.retryDelay, options.signal);
      if (options.signal.aborted) throw options.signal.reason;
    }
    progressAt = received;
    const headers: Record<string, string> = {};
    if (received > 0) {
      headers['range'] = `bytes=${received}-`;
      if (validator !== undefined) headers['if-range'] = validator;
    }
    let response: Response;
    try {
      response = await options.fetch(url, { headers, signal: options.signal, redirect: 'follow' });
    } catch (error) {
      if (options.signal.aborted) throw error;
      lastError = error;
      continue;
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel().catch(() => undefined);
      throw new FirmwareUpdateError(UpdateResult.INVALID_URI, `package not found (HTTP ${response.status})`);
    }
    if (response.status === 206 && received > 0) {
      const range = CONTENT_RANGE.exec(response.headers.get('content-range') ?? '');
      if (range === null || Number(range[1]) !== received) {
        await response.body?.cancel().catch(() => undefined);
        lastError = new Error('unusable Content-Range');
        chunks = [];
        received = 0;
        continue;
      }
      if (range[3] !== '*') total = Number(range[3]);
    } else if (response.status === 200) {
      // A full body: the server ignored the Range (or this is the first try).
      chunks = [];
      received = 0;
      const length = response.headers.get('content-length');
      total = length === null ? undefined : Number(length);
    } else {
      await response.body?.cancel().catch(() => undefined);
      lastError = new Error(`HTTP ${response.status}`);
      continue;
    }
    validator = response.headers.get('etag') ?? response.headers.get('last-modified') ?? validator;
    if (total !== undefined && total > options.maxSize) {
      await response.body?.cancel().catch(() => undefined);
      throw new FirmwareUpdateError(
        UpdateResult.NOT_ENOUGH_FLASH,
        `package of ${total} bytes exceeds ${options.maxSize}`,
      );
    }
    if (response.body === null) {
      lastError = new Error('response without a body');
      continue;
    }
    try {
      for await (const chunk of response.body) {
        const bytes = chunk as Uint8Array;
        received += bytes.length;
        if (received > options.maxSize) {
          throw new FirmwareUpdateError(
            UpdateResult.NOT_ENOUGH_FLASH,
            `package exceeds ${options.maxSize} bytes`,
          );
        }
        chunks.push(bytes);
        options.onProgress({ received, total });
      }
    } catch (error) {
      if (error instanceof FirmwareUpdateError || options.signal.aborted) throw error;
      lastError = error;
      continue;
    }
    if (total !== undefined && received < total) {
      lastError = new Error(`connection closed after ${received} of ${total} bytes`);
      continue;
    }
    return Buffer.concat(chunks, received);
  }
  throw new FirmwareUpdateError(
    UpdateResult.CONNECTION_LOST,
    `download failed ${options.attempts} times in a row`,
    { cause: lastError },
  );
}
