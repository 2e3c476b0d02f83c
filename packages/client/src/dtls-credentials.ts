import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ClientConfigError } from './errors.js';
import type { ConnectSecurity } from './security-target.js';

/**
 * The credential part of `connectDtls` options from @lwm2m/transport-dtls, built from a Security
 * instance. Typed structurally so this package does not depend on a transport; spread it into
 * `connectDtls({ peer, ...dtlsCredentials(target.security) })`.
 */
export type DtlsCredentials =
  | { readonly psk: { readonly identity: string; readonly key: Uint8Array } }
  | {
      readonly ecdsa: {
        readonly key: KeyObject;
        readonly certificate?: Uint8Array;
        readonly rawPublicKey: boolean;
        readonly trustAnchors?: Uint8Array;
        readonly hostname?: string;
        readonly verifyRawPublicKey?: (publicKey: Uint8Array) => boolean;
      };
    };

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** Our private key from resource 5: PKCS#8 or SEC1 DER, or the bare 32-byte P-256 scalar with resource 3's public key. */
function privateKeyOf(privateKey: Uint8Array, publicKey: Uint8Array | undefined): KeyObject {
  const key = Buffer.from(privateKey);
  try {
    if (privateKey.length === 32 && publicKey !== undefined) {
      const jwk = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' }).export({
        format: 'jwk',
      });
      return createPrivateKey({ key: { ...jwk, d: key.toString('base64url') }, format: 'jwk' });
    }
    try {
      return createPrivateKey({ key, format: 'der', type: 'pkcs8' });
    } catch {
      return createPrivateKey({ key, format: 'der', type: 'sec1' });
    }
  } catch (error) {
    throw new ClientConfigError('Security object: the Secret Key (resource 5) is not a usable private key', {
      cause: error,
    });
  }
}

/** Refuses an empty credential up front: an anonymous handshake would only fail later, less clearly. */
function required(value: Uint8Array, what: string): Uint8Array {
  if (value.length === 0) throw new ClientConfigError(`Security object: ${what} is empty`);
  return value;
}

export function dtlsCredentials(security: ConnectSecurity): DtlsCredentials {
  switch (security.mode) {
    case 'psk':
      return { psk: { identity: security.identity, key: required(security.key, 'the PSK (resource 5)') } };
    case 'rpk': {
      let expected: Buffer;
      try {
        // Canonical DER on both sides: the transport re-encodes what the server presents.
        expected = spki(
          createPublicKey({
            key: Buffer.from(required(security.serverPublicKey, 'the Server Public Key (resource 4)')),
            format: 'der',
            type: 'spki',
          }),
        );
      } catch (error) {
        if (error instanceof ClientConfigError) throw error;
        throw new ClientConfigError(
          'Security object: the Server Public Key (resource 4) is not a SubjectPublicKeyInfo',
          { cause: error },
        );
      }
      const publicKey = security.publicKey.length === 0 ? undefined : security.publicKey;
      return {
        ecdsa: {
          key: privateKeyOf(required(security.privateKey, 'the Secret Key (resource 5)'), publicKey),
          rawPublicKey: true,
          verifyRawPublicKey: (presented) => expected.equals(presented),
        },
      };
    }
    case 'x509':
      return {
        ecdsa: {
          key: privateKeyOf(required(security.privateKey, 'the Secret Key (resource 5)'), undefined),
          certificate: required(security.certificate, 'the client certificate (resource 3)'),
          rawPublicKey: false,
          // Resource 4 is an anchor for usages 0 and 2 and the pinned server certificate for 1 and 3;
          // the transport trusts either a CA issuing the chain or that exact certificate.
          trustAnchors: required(security.serverCertificate, 'the server certificate (resource 4)'),
          // Domain-issued (3) pins the certificate itself: RFC 7671 §5.1 drops the name check for it.
          ...(security.certificateUsage === 3 ? {} : { hostname: security.serverName }),
        },
      };
  }
}
