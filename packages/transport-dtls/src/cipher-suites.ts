import { CbcHmacCipher } from './cipher-cbc-hmac.js';
import { Ccm8Cipher } from './cipher-ccm8.js';
import { prf } from './prf.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';
import type { RecordCipher } from './record-cipher.js';

export const CipherSuite = {
  TLS_PSK_WITH_AES_128_CCM_8: 0xc0a8,
  TLS_PSK_WITH_AES_128_CBC_SHA256: 0x00ae,
  TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8: 0xc0ae,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 0xc023,
} as const;
export type CipherSuiteId = (typeof CipherSuite)[keyof typeof CipherSuite];

/** How a suite authenticates: a pre-shared key, or ephemeral ECDH signed with ECDSA (certificate or raw key). */
export type KeyExchange = 'psk' | 'ecdhe_ecdsa';

interface SuiteParameters {
  readonly name: string;
  readonly keyExchange: KeyExchange;
  readonly aead: boolean;
  readonly macKeyLength: number;
  readonly keyLength: number;
  readonly fixedIvLength: number;
}

const SUITES: ReadonlyMap<number, SuiteParameters> = new Map<number, SuiteParameters>([
  [
    CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
    {
      name: 'TLS_PSK_WITH_AES_128_CCM_8',
      keyExchange: 'psk',
      aead: true,
      macKeyLength: 0,
      keyLength: 16,
      fixedIvLength: 4,
    },
  ],
  [
    CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
    {
      name: 'TLS_PSK_WITH_AES_128_CBC_SHA256',
      keyExchange: 'psk',
      aead: false,
      macKeyLength: 32,
      keyLength: 16,
      fixedIvLength: 0,
    },
  ],
  [
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
    {
      name: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8',
      keyExchange: 'ecdhe_ecdsa',
      aead: true,
      macKeyLength: 0,
      keyLength: 16,
      fixedIvLength: 4,
    },
  ],
  [
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    {
      name: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
      keyExchange: 'ecdhe_ecdsa',
      aead: false,
      macKeyLength: 32,
      keyLength: 16,
      fixedIvLength: 0,
    },
  ],
]);

/**
 * Our preference order: the PSK pair (RFC 7925 §4.2) and the ECDHE-ECDSA pair (RFC 7925 §4.3, for
 * raw public keys and certificates), CCM_8 first. A side only uses the suites its credentials allow.
 */
export const DEFAULT_CIPHER_SUITES: readonly CipherSuiteId[] = [
  CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
  CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
  CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
  CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
];

export function keyExchangeOf(id: number): KeyExchange | undefined {
  return SUITES.get(id)?.keyExchange;
}

export function isSupportedCipherSuite(id: number): id is CipherSuiteId {
  return SUITES.has(id);
}

export function cipherSuiteName(id: number): string {
  return SUITES.get(id)?.name ?? `0x${id.toString(16).padStart(4, '0')}`;
}

export interface ConnectionCiphers {
  readonly client: RecordCipher;
  readonly server: RecordCipher;
}

/** Expands the master secret into the two write ciphers (RFC 5246 §6.3). */
export function deriveCiphers(
  suite: CipherSuiteId,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): ConnectionCiphers {
  const p = SUITES.get(suite);
  if (p === undefined)
    throw new DtlsHandshakeError(`unsupported cipher suite ${suite}`, AlertDescription.internalError);
  const total = 2 * (p.macKeyLength + p.keyLength + p.fixedIvLength);
  const block = prf(masterSecret, 'key expansion', Buffer.concat([serverRandom, clientRandom]), total);
  let at = 0;
  const take = (n: number): Uint8Array => block.subarray(at, (at += n));
  const clientMac = take(p.macKeyLength);
  const serverMac = take(p.macKeyLength);
  const clientKey = take(p.keyLength);
  const serverKey = take(p.keyLength);
  const clientIv = take(p.fixedIvLength);
  const serverIv = take(p.fixedIvLength);
  if (p.aead) {
    return { client: new Ccm8Cipher(clientKey, clientIv), server: new Ccm8Cipher(serverKey, serverIv) };
  }
  return { client: new CbcHmacCipher(clientKey, clientMac), server: new CbcHmacCipher(serverKey, serverMac) };
}
