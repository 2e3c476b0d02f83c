import { isLwm2mError } from '@lwm2m/core';
import type { DatagramSocket } from '@lwm2m/core';
import { CoapCode, CoapOptionNumber, blockSize, formatCode, sizeToSzx } from '@lwm2m/transport-coap';
import type { CoapOption, TransmissionParameters } from '@lwm2m/transport-coap';
import type { Clock } from '@lwm2m/core';
import { FirmwareUpdateError } from '../errors.js';
import type { ConnectTarget } from '../transport.js';
import { resolvePeer } from '../transport.js';
import { CoapBlockFetcher } from './coap-block-fetcher.js';
import type { FetchedBlock } from './coap-block-fetcher.js';
import { UpdateResult } from './update-result.js';
import type { DownloadProgress } from './http-download.js';
import type { ConnectSecurity } from '../security-target.js';

export interface CoapDownloadOptions {
  /** The client's transport connector: a separate socket (UDP or DTLS) to the package's host. */
  readonly connect: (target: ConnectTarget, signal: AbortSignal) => Promise<DatagramSocket>;
  /** PSK for a `coaps://` host, from a Security instance with the same host and port. */
  readonly security: ConnectSecurity | undefined;
  readonly transmission: TransmissionParameters;
  readonly clock: Clock;
  /** Requested block size (16..1024). */
  readonly blockSize: number;
  readonly maxSize: number;
  /** Exchanges tried for one block (each with its own retransmissions) before the download fails. */
  readonly attempts: number;
  readonly signal: AbortSignal;
  readonly onProgress: (progress: DownloadProgress) => void;
}

function uriOptions(url: URL): CoapOption[] {
  const options: CoapOption[] = [];
  const encoder = new TextEncoder();
  for (const segment of url.pathname.split('/').slice(1)) {
    if (segment === '') continue;
    options.push({ number: CoapOptionNumber.URI_PATH, value: encoder.encode(decodeURIComponent(segment)) });
  }
  for (const part of url.search.replace(/^\?/, '').split('&')) {
    if (part !== '')
      options.push({ number: CoapOptionNumber.URI_QUERY, value: encoder.encode(decodeURIComponent(part)) });
  }
  return options;
}

function sameEtag(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Downloads a `coap://` or `coaps://` package block by block (RFC 7959 Block2). A block whose
 * exchange times out is asked for again, up to `attempts` times, so the download continues from
 * the last good block; a changed ETag starts over once. Fails with a {@link FirmwareUpdateError}:
 * 7 when the server has no such resource, 2 when the package is larger than `maxSize`, 4 when the
 * server stays silent.
 */
export async function downloadCoap(url: URL, options: CoapDownloadOptions): Promise<Uint8Array> {
  const secure = url.protocol === 'coaps:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 5684 : 5683) : Number(url.port);
  const target: ConnectTarget =
    options.security === undefined || !secure
      ? { uri: url.href, host, port, secure }
      : { uri: url.href, host, port, secure, security: options.security };
  let socket: DatagramSocket;
  let peer;
  try {
    peer = await resolvePeer(host, port);
    socket = await options.connect(target, options.signal);
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new FirmwareUpdateError(UpdateResult.CONNECTION_LOST, `cannot reach ${host}:${port}`, {
      cause: error,
    });
  }
  const fetcher = new CoapBlockFetcher(socket, peer, options.transmission, options.clock);
  try {
    return await fetchAll(fetcher, uriOptions(url), options);
  } finally {
    fetcher.close();
    await socket.close().catch(() => undefined);
  }
}

async function fetchAll(
  fetcher: CoapBlockFetcher,
  uri: CoapOption[],
  options: CoapDownloadOptions,
): Promise<Uint8Array> {
  let szx = sizeToSzx(options.blockSize);
  let chunks: Uint8Array[] = [];
  let received = 0;
  let etag: Uint8Array | undefined;
  let total: number | undefined;
  let restarted = false;
  for (;;) {
    const size = blockSize(szx);
    const response = await fetchBlock(fetcher, uri, received / size, szx, options);
    if (response.code === CoapCode.NOT_FOUND)
      throw new FirmwareUpdateError(UpdateResult.INVALID_URI, 'package not found (4.04)');
    if (response.code !== CoapCode.CONTENT) {
      throw new FirmwareUpdateError(
        UpdateResult.CONNECTION_LOST,
        `package download answered ${formatCode(response.code)}`,
      );
    }
    const block = response.block;
    if (block === undefined) {
      // No Block2: the whole package in one response.
      if (received === 0) {
        checkSize(response.payload.length, options.maxSize);
        options.onProgress({ received: response.payload.length, total: response.payload.length });
        return response.payload;
      }
      throw new FirmwareUpdateError(UpdateResult.CONNECTION_LOST, 'server stopped answering block-wise');
    }
    if (received === 0) {
      etag = response.etag;
      total = response.size2;
    } else if (!sameEtag(etag, response.etag)) {
      // The package changed under us: start again, once.
      if (restarted)
        throw new FirmwareUpdateError(UpdateResult.CONNECTION_LOST, 'package changed during the download');
      restarted = true;
      chunks = [];
      received = 0;
      continue;
    }
    if (block.num * blockSize(block.szx) !== received) {
      throw new FirmwareUpdateError(
        UpdateResult.CONNECTION_LOST,
        `server sent block ${block.num}, not the one at offset ${received}`,
      );
    }
    if (total !== undefined) checkSize(total, options.maxSize);
    received += response.payload.length;
    checkSize(received, options.maxSize);
    chunks.push(response.payload);
    options.onProgress({ received, total });
    if (!block.more) return Buffer.concat(chunks, received);
    if (response.payload.length !== blockSize(block.szx))
      throw new FirmwareUpdateError(UpdateResult.CONNECTION_LOST, 'short block before the end');
    // RFC 7959 §2.4: the server may pick a smaller block size; continue in its size.
    szx = Math.min(szx, block.szx);
  }
}

async function fetchBlock(
  fetcher: CoapBlockFetcher,
  uri: CoapOption[],
  num: number,
  szx: number,
  options: CoapDownloadOptions,
): Promise<FetchedBlock> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetcher.fetch(uri, num, szx, options.signal);
    } catch (error) {
      if (options.signal.aborted) throw error;
      const timedOut = isLwm2mError(error) && error.code === 'ERR_TIMEOUT';
      if (!timedOut || attempt >= options.attempts) {
        throw new FirmwareUpdateError(
          UpdateResult.CONNECTION_LOST,
          `block ${num}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }
}

function checkSize(size: number, max: number): void {
  if (size > max)
    throw new FirmwareUpdateError(UpdateResult.NOT_ENOUGH_FLASH, `package of ${size} bytes exceeds ${max}`);
}
