import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { AlertDescription, DtlsHandshakeError } from './errors.js';

/** Intermediate CAs between a leaf and a trust anchor, at most. */
const MAX_DEPTH = 8;

function validity(certificate: X509Certificate, now: number): void {
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  if (!(now <= to)) {
    throw new DtlsHandshakeError(
      `certificate "${certificate.subject}" expired on ${certificate.validTo}`,
      AlertDescription.certificateExpired,
    );
  }
  if (!(now >= from)) {
    throw new DtlsHandshakeError(
      `certificate "${certificate.subject}" is not valid before ${certificate.validFrom}`,
      AlertDescription.badCertificate,
    );
  }
}

/** `child` names `parent` as issuer and carries a signature `parent`'s key verifies. */
function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Verifies a peer's chain (leaf first) against trust anchors: every certificate within its
 * validity dates, each signed by the next, every issuer a CA, and the last one issued by (or
 * equal to) a trust anchor. Throws a DtlsHandshakeError carrying the alert to send:
 * certificate_expired, unknown_ca, bad_certificate or unsupported_certificate.
 */
export function verifyCertificateChain(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now = Date.now(),
): void {
  const leaf = chain[0];
  if (leaf === undefined)
    throw new DtlsHandshakeError('empty certificate chain', AlertDescription.badCertificate);
  const key = leaf.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new DtlsHandshakeError(
      'peer certificate key is not ECDSA P-256',
      AlertDescription.unsupportedCertificate,
    );
  }
  for (let i = 0; i < chain.length && i <= MAX_DEPTH; i++) {
    const current = chain[i]!;
    validity(current, now);
    // A pinned certificate (the peer's own, configured as an anchor) is trusted as it is.
    if (anchors.some((a) => a.fingerprint256 === current.fingerprint256)) return;
    const anchor = anchors.find((a) => a.ca && issuedBy(current, a));
    if (anchor !== undefined) {
      validity(anchor, now);
      return;
    }
    const next = chain[i + 1];
    if (next === undefined) break;
    if (!next.ca || !issuedBy(current, next)) {
      throw new DtlsHandshakeError(
        `certificate "${current.subject}" is not issued by the next one in the chain`,
        AlertDescription.badCertificate,
      );
    }
  }
  throw new DtlsHandshakeError(
    `certificate "${leaf.subject}" does not chain to a trust anchor`,
    AlertDescription.unknownCa,
  );
}

/** One DER certificate from a Certificate message; bad_certificate when it does not parse. */
export function parseCertificate(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new DtlsHandshakeError('certificate does not parse', AlertDescription.badCertificate, {
      cause: error,
    });
  }
}

/** The subject's CN, or '' when it has none. */
export function commonNameOf(certificate: X509Certificate): string {
  for (const line of certificate.subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return '';
}

/**
 * RFC 6125 name check: a DNS name against the subjectAltName DNS entries (the CN only when there
 * are none), an IP address against the IP entries.
 */
export function checkServerName(certificate: X509Certificate, name: string): void {
  const matched = isIP(name) !== 0 ? certificate.checkIP(name) : certificate.checkHost(name);
  if (matched === undefined) {
    throw new DtlsHandshakeError(
      `server certificate "${certificate.subject}" does not name ${name}`,
      AlertDescription.badCertificate,
    );
  }
}
