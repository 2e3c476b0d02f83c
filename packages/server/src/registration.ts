import type { PeerIdentity } from '@lwm2m/core';

export type Lwm2mVersion = '1.0' | '1.1' | '1.2';

/**
 * One client's registration, as stored: plain data (JSON-safe but for nothing) so any store can
 * keep it, and small (the object links stay the text the client sent; parse them with
 * `registrationObjects`).
 */
export interface Registration {
  /** Registration id, the `{id}` of `/rd/{id}`. */
  readonly id: string;
  readonly endpoint: string;
  /** Seconds. */
  readonly lifetime: number;
  readonly version: Lwm2mVersion;
  /** Binding letters without Q (`U`, `UN`...). */
  readonly binding: string;
  readonly queueMode: boolean;
  readonly sms?: string;
  /** Where the client's objects live: `/` or an alternate path such as `/lwm2m/`. */
  readonly rootPath: string;
  /** The Register/Update link-format payload as received. */
  readonly objectLinks: string;
  /** Content formats advertised with `ct` on the root link. */
  readonly supportedFormats?: readonly number[];
  /** Query parameters beyond the LwM2M ones, kept as given. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Name of the server transport the client talks to; requests go out through it. */
  readonly transport: string;
  /** Source address and port of the last Register/Update: requests go there (NAT-safe). */
  readonly address: string;
  readonly port: number;
  /** The DTLS identity it registered with; absent on NoSec. */
  readonly identity?: PeerIdentity;
  /** Epoch ms. */
  readonly registeredAt: number;
  readonly updatedAt: number;
  /** Epoch ms after which, without an Update, the registration is removed (lifetime + grace). */
  readonly expiresAt: number;
}

/** What an Update request changes; absent fields stay as they were. */
export interface RegistrationUpdate {
  readonly lifetime?: number;
  readonly binding?: string;
  readonly queueMode?: boolean;
  readonly sms?: string;
  readonly objectLinks?: string;
  readonly rootPath?: string;
  readonly supportedFormats?: readonly number[];
  readonly address: string;
  readonly port: number;
  readonly transport: string;
  readonly updatedAt: number;
  readonly expiresAt: number;
}

/** Applies an update to a registration: the one merge rule every store uses. */
export function applyRegistrationUpdate(current: Registration, update: RegistrationUpdate): Registration {
  const next: { -readonly [K in keyof Registration]: Registration[K] } = { ...current };
  if (update.lifetime !== undefined) next.lifetime = update.lifetime;
  if (update.binding !== undefined) next.binding = update.binding;
  if (update.queueMode !== undefined) next.queueMode = update.queueMode;
  if (update.sms !== undefined) next.sms = update.sms;
  if (update.objectLinks !== undefined) next.objectLinks = update.objectLinks;
  if (update.rootPath !== undefined) next.rootPath = update.rootPath;
  if (update.supportedFormats !== undefined) next.supportedFormats = update.supportedFormats;
  next.address = update.address;
  next.port = update.port;
  next.transport = update.transport;
  next.updatedAt = update.updatedAt;
  next.expiresAt = update.expiresAt;
  return next;
}
