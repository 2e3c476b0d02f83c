import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import type { PeerAddress, PeerIdentity } from '@lwm2m/core';
import { checkServerName, commonNameOf, verifyCertificateChain } from './certificate-chain.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';

/** Decides whether a peer's raw public key (SubjectPublicKeyInfo DER) is one we trust. */
export type RawPublicKeyVerifier = (publicKey: Uint8Array, peer: PeerAddress) => Promise<boolean> | boolean;

/** How one side checks what the other presents in its Certificate message. */
export interface PeerTrust {
  /** X.509: the peer's chain must lead to one of these (CA certificates, or pinned peer certificates). */
  readonly anchors: readonly X509Certificate[];
  /** Raw public keys (RFC 7250): handed to this callback; undefined refuses them. */
  readonly verifyRawPublicKey: RawPublicKeyVerifier | undefined;
  /** Client side: the server certificate must name this host or IP address. */
  readonly serverName: string | undefined;
}

export type PresentedCredential =
  | { readonly kind: 'rpk'; readonly spki: Uint8Array }
  | { readonly kind: 'x509'; readonly chain: readonly X509Certificate[] };

/** The peer's verified signing key and the identity it stands for. */
export interface VerifiedPeer {
  readonly key: KeyObject;
  readonly identity: PeerIdentity;
}

/**
 * Checks a peer's certificate chain or raw public key. Rejects with a DtlsHandshakeError carrying
 * the alert to send (unknown_ca, certificate_expired, bad_certificate, certificate_unknown,
 * unsupported_certificate).
 */
export async function checkPeerCertificate(
  trust: PeerTrust,
  presented: PresentedCredential,
  peer: PeerAddress,
): Promise<VerifiedPeer> {
  if (presented.kind === 'rpk') {
    const verifier = trust.verifyRawPublicKey;
    if (verifier === undefined)
      throw new DtlsHandshakeError(
        'raw public keys are not accepted',
        AlertDescription.unsupportedCertificate,
      );
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(presented.spki), format: 'der', type: 'spki' });
    } catch (error) {
      throw new DtlsHandshakeError('raw public key does not parse', AlertDescription.badCertificate, {
        cause: error,
      });
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new DtlsHandshakeError(
        'raw public key is not ECDSA P-256',
        AlertDescription.unsupportedCertificate,
      );
    }
    // The key re-encoded: the identity is the canonical SPKI whatever encoding quirks came in.
    const publicKey = new Uint8Array(key.export({ type: 'spki', format: 'der' }));
    let trusted: boolean;
    try {
      trusted = await verifier(publicKey, peer);
    } catch (error) {
      throw new DtlsHandshakeError('raw public key check failed', AlertDescription.internalError, {
        cause: error,
      });
    }
    if (!trusted)
      throw new DtlsHandshakeError('raw public key is not trusted', AlertDescription.certificateUnknown);
    return { key, identity: { kind: 'rpk', publicKey } };
  }
  if (trust.anchors.length === 0)
    throw new DtlsHandshakeError('certificates are not accepted', AlertDescription.unsupportedCertificate);
  verifyCertificateChain(presented.chain, trust.anchors);
  const leaf = presented.chain[0]!;
  if (trust.serverName !== undefined) checkServerName(leaf, trust.serverName);
  return {
    key: leaf.publicKey,
    identity: { kind: 'x509', commonName: commonNameOf(leaf), certificate: new Uint8Array(leaf.raw) },
  };
}
