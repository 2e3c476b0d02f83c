import { CbcHmacCipher } from './cipher-cbc-hmac.js';
import { Ccm8Cipher } from './cipher-ccm8.js';
import { prf } from './prf.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';
import type { RecordCipher } from './record-cipher.js';

export const CipherSuite = {
  TLS_PSK_WITH_AES_128_CCM_8: 0xc0a8,
  TLS_PSK_WITH_AES_128_CBC_SHA256: 0x00ae,
} as const;
export type CipherSuiteId = (typeof CipherSuite)[keyof typeof CipherSuite];

interface SuiteParameters {
  readonly name: string;
  readonly macKeyLength: number;
  readonly keyLength: number;
  readonly fixedIvLength: number;
}

const SUITES: ReadonlyMap<number, SuiteParameters> = new Map<number, SuiteParameters>([
  [
    CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
    { name: 'TLS_PSK_WITH_AES_128_CCM_8', macKeyLength: 0, keyLength: 16, fixedIvLength: 4 },
  ],
  [
    CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
    { name: 'TLS_PSK_WITH_AES_128_CBC_SHA256', macKeyLength: 32, keyLength: 16, fixedIvLength: 0 },
  ],
]);

/** Our preference order; both are mandatory for LwM2M PSK (RFC 7925 §4.2, LwM2M Transport §5.2.8). */
export const DEFAULT_CIPHER_SUITES: readonly CipherSuiteId[] = [
  CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
  CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
];

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
  if (suite === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8) {
    return { client: new Ccm8Cipher(clientKey, clientIv), server: new Ccm8Cipher(serverKey, serverIv) };
  }
  return { client: new CbcHmacCipher(clientKey, clientMac), server: new CbcHmacCipher(serverKey, serverMac) };
}
