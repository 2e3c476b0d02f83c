import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DtlsCredentialsError } from './errors.js';

/**
 * A private key: PEM text, a path to a PEM or DER file, PEM or DER bytes, or a KeyObject. SEC1
 * ("EC PRIVATE KEY", what `openssl ecparam -genkey` writes, EC PARAMETERS block included) and
 * PKCS#8 ("PRIVATE KEY") are both accepted.
 */
export type PrivateKeyInput = string | Uint8Array | KeyObject;
/** One certificate or several (a chain, leaf first): PEM text, a file path, PEM or DER bytes, X509Certificate. */
export type CertificateInput =
  string | Uint8Array | X509Certificate | readonly (string | Uint8Array | X509Certificate)[];
/** A public key: PEM text, a file path, PEM or DER (SubjectPublicKeyInfo) bytes, or a KeyObject. */
export type PublicKeyInput = string | Uint8Array | KeyObject;

const PEM_BEGIN = '-----BEGIN';

/** PEM text stays as it is; any other string is a file path, read as bytes. */
function resolve(input: string | Uint8Array, what: string): string | Buffer {
  if (typeof input !== 'string') {
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return looksLikePem(bytes) ? bytes.toString('latin1') : bytes;
  }
  if (input.includes(PEM_BEGIN)) return input;
  try {
    const bytes = readFileSync(input);
    return looksLikePem(bytes) ? bytes.toString('latin1') : bytes;
  } catch (error) {
    throw new DtlsCredentialsError(`cannot read ${what} file ${input}`, { cause: error });
  }
}

function looksLikePem(bytes: Buffer): boolean {
  return bytes.subarray(0, 4096).toString('latin1').includes(PEM_BEGIN);
}

/** DTLS here signs with ECDSA on secp256r1 only (RFC 7925 §4.3). */
function assertP256(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new DtlsCredentialsError(`${what} is not an EC key on secp256r1 (P-256)`);
  }
}

export function loadPrivateKey(input: PrivateKeyInput): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'private') throw new DtlsCredentialsError('the key is not a private key');
    assertP256(input, 'the private key');
    return input;
  }
  const data = resolve(input, 'private key');
  let key: KeyObject | undefined;
  if (typeof data === 'string') {
    try {
      key = createPrivateKey(data);
    } catch (error) {
      throw new DtlsCredentialsError('cannot parse the PEM private key', { cause: error });
    }
  } else {
    for (const type of ['pkcs8', 'sec1'] as const) {
      try {
        key = createPrivateKey({ key: data, format: 'der', type });
        break;
      } catch {
        // try the next encoding
      }
    }
    if (key === undefined) throw new DtlsCredentialsError('the DER private key is neither PKCS#8 nor SEC1');
  }
  assertP256(key, 'the private key');
  return key;
}

export function loadPublicKey(input: PublicKeyInput): KeyObject {
  let key: KeyObject;
  if (input instanceof KeyObject) {
    key = input.type === 'private' ? createPublicKey(input) : input;
  } else {
    const data = resolve(input, 'public key');
    try {
      key =
        typeof data === 'string'
          ? createPublicKey(data)
          : createPublicKey({ key: data, format: 'der', type: 'spki' });
    } catch (error) {
      throw new DtlsCredentialsError('cannot parse the public key', { cause: error });
    }
  }
  assertP256(key, 'the public key');
  return key;
}

export function loadCertificates(input: CertificateInput): X509Certificate[] {
  const items = Array.isArray(input) ? input : [input];
  const out: X509Certificate[] = [];
  for (const item of items as readonly (string | Uint8Array | X509Certificate)[]) {
    if (item instanceof X509Certificate) {
      out.push(item);
      continue;
    }
    const data = resolve(item, 'certificate');
    try {
      if (typeof data === 'string') {
        const blocks = data.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
        if (blocks.length === 0) throw new DtlsCredentialsError('no CERTIFICATE block in the PEM text');
        for (const block of blocks) out.push(new X509Certificate(block));
      } else {
        out.push(new X509Certificate(data));
      }
    } catch (error) {
      if (error instanceof DtlsCredentialsError) throw error;
      throw new DtlsCredentialsError('cannot parse the certificate', { cause: error });
    }
  }
  return out;
}

/** SubjectPublicKeyInfo DER: what a raw public key Certificate carries and `rpk` identities hold. */
export function spkiOf(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** Our ECDSA credentials, loaded once: the key, our certificate chain (may be empty), our SPKI. */
export interface EcdsaCredentials {
  readonly key: KeyObject;
  readonly chain: readonly X509Certificate[];
  readonly chainDer: readonly Uint8Array[];
  readonly spki: Uint8Array;
}

export function loadEcdsaCredentials(
  keyInput: PrivateKeyInput,
  certificateInput: CertificateInput | undefined,
): EcdsaCredentials {
  const key = loadPrivateKey(keyInput);
  const chain = certificateInput === undefined ? [] : loadCertificates(certificateInput);
  const spki = spkiOf(key);
  const leaf = chain[0];
  if (leaf !== undefined && !spkiOf(leaf.publicKey).equals(spki)) {
    throw new DtlsCredentialsError('the certificate does not belong to the private key');
  }
  return { key, chain, chainDer: chain.map((c) => c.raw), spki };
}
