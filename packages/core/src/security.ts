import type { PeerIdentity } from './datagram.js';

/**
 * How one endpoint must authenticate on DTLS. Shared by the server (which checks a registration's
 * identity against it) and the bootstrap server (which provisions it), so both can use one store.
 */
export type SecurityInfo =
  | { readonly endpoint: string; readonly mode: 'psk'; readonly identity: string; readonly key: Uint8Array }
  /** `publicKey`: the client's SubjectPublicKeyInfo, DER. */
  | { readonly endpoint: string; readonly mode: 'rpk'; readonly publicKey: Uint8Array }
  /** The certificate's CN must be `commonName`, or the endpoint name when absent. */
  | { readonly endpoint: string; readonly mode: 'x509'; readonly commonName?: string };

/** Security info by endpoint name, and by PSK identity for the DTLS handshake's key lookup. */
export interface SecurityStore {
  getByEndpoint(endpoint: string): Promise<SecurityInfo | undefined>;
  getByPskIdentity(identity: string): Promise<SecurityInfo | undefined>;
  /** Adds or replaces the endpoint's info; rejects with a ConflictError when its PSK identity belongs to another endpoint. */
  put(info: SecurityInfo): Promise<void>;
  /** Resolves true when something was removed. */
  remove(endpoint: string): Promise<boolean>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether the identity a DTLS peer proved matches what is stored for the endpoint. */
export function identityMatches(info: SecurityInfo, identity: PeerIdentity | undefined): boolean {
  if (identity === undefined) return false;
  switch (info.mode) {
    case 'psk':
      return identity.kind === 'psk' && identity.identity === info.identity;
    case 'rpk':
      return identity.kind === 'rpk' && sameBytes(identity.publicKey, info.publicKey);
    case 'x509':
      return identity.kind === 'x509' && identity.commonName === (info.commonName ?? info.endpoint);
  }
}
