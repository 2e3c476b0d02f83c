import type { InstanceHandler } from './instance.js';
import { readNumber } from './resource-value.js';
import type { ConnectTarget } from './transport.js';
import { parseServerUri } from './transport.js';

/**
 * How the client proves itself to one server and checks that server, from a Security (0)
 * instance. Byte fields are DER, as the Security object stores them.
 */
export type ConnectSecurity =
  | { readonly mode: 'psk'; readonly identity: string; readonly key: Uint8Array }
  | {
      readonly mode: 'rpk';
      /** Resource 3: our public key, SubjectPublicKeyInfo. */
      readonly publicKey: Uint8Array;
      /** Resource 5: our private key (PKCS#8, SEC1, or the bare 32-byte scalar). */
      readonly privateKey: Uint8Array;
      /** Resource 4: the server's public key, SubjectPublicKeyInfo. */
      readonly serverPublicKey: Uint8Array;
    }
  | {
      readonly mode: 'x509';
      /** Resource 3: our certificate. */
      readonly certificate: Uint8Array;
      /** Resource 5: our private key (PKCS#8 or SEC1). */
      readonly privateKey: Uint8Array;
      /** Resource 4: the server's certificate, or the CA its certificate must chain to (see usage). */
      readonly serverCertificate: Uint8Array;
      /** Resource 15, RFC 6698 semantics: 0 CA constraint, 1 service certificate, 2 trust anchor, 3 domain-issued (default). */
      readonly certificateUsage: CertificateUsage;
      /** The name the server certificate must carry: resource 14 (SNI) or the URI's host. */
      readonly serverName: string;
    };

export type CertificateUsage = 0 | 1 | 2 | 3;

/** Security Mode (resource 2) values. */
export const SecurityMode = { PSK: 0, RPK: 1, CERTIFICATE: 2, NO_SEC: 3, CERTIFICATE_EST: 4 } as const;

const EMPTY = new Uint8Array(0);

function bytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : EMPTY;
}

function text(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return typeof value === 'string' ? value : '';
}

/**
 * The credentials a `coaps://` connection needs, read from a Security instance; undefined when the
 * mode is NoSec or one the client cannot use (EST), which a transport then refuses with a clear
 * error rather than trying an anonymous handshake.
 */
export function connectSecurityOf(
  security: InstanceHandler | undefined,
  host: string,
): ConnectSecurity | undefined {
  if (security === undefined) return undefined;
  switch (readNumber(security.read(2)) ?? SecurityMode.NO_SEC) {
    case SecurityMode.PSK:
      return { mode: 'psk', identity: text(security.read(3)), key: bytes(security.read(5)) };
    case SecurityMode.RPK:
      return {
        mode: 'rpk',
        publicKey: bytes(security.read(3)),
        privateKey: bytes(security.read(5)),
        serverPublicKey: bytes(security.read(4)),
      };
    case SecurityMode.CERTIFICATE: {
      const usage = readNumber(security.read(15));
      const sni = text(security.read(14));
      return {
        mode: 'x509',
        certificate: bytes(security.read(3)),
        privateKey: bytes(security.read(5)),
        serverCertificate: bytes(security.read(4)),
        certificateUsage: usage === 0 || usage === 1 || usage === 2 ? usage : 3,
        serverName: sni === '' ? host : sni,
      };
    }
    default:
      return undefined;
  }
}

/** Where and how to connect for a Security instance: its Server URI split, and its credentials when `coaps`. */
export function connectTargetOf(security: InstanceHandler | undefined): ConnectTarget {
  const uri = text(security?.read(0));
  const { host, port, secure } = parseServerUri(uri);
  const credentials = secure ? connectSecurityOf(security, host) : undefined;
  return { uri, host, port, secure, ...(credentials === undefined ? {} : { security: credentials }) };
}
