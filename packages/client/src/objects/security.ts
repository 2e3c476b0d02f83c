import type { InstanceHandler, ObjectImplementation } from '../instance.js';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { ClientConfigError } from '../errors.js';
import { SecurityMode } from '../security-target.js';
import type { CertificateUsage } from '../security-target.js';
import { StoredInstance } from '../stored-instance.js';

/** Key or certificate material: DER bytes, or PEM text. */
export type KeyMaterial = Uint8Array | string;

/** How to reach one server, as the Security object (0) stores it. At most one of psk, rpk and x509. */
export interface SecurityConfig {
  /** `coap://host:port` or `coaps://host:port`. */
  readonly uri: string;
  readonly bootstrap?: boolean;
  /** Short Server ID (1..65534); not used for the bootstrap server. */
  readonly ssid?: number;
  /** PSK identity and key (Security Mode 0). */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
  /** Raw public keys (Security Mode 1): our P-256 private key and the server's public key. */
  readonly rpk?: { readonly privateKey: KeyMaterial; readonly serverPublicKey: KeyMaterial };
  /** Certificates (Security Mode 2): our certificate and key, and the server's certificate or CA. */
  readonly x509?: {
    readonly certificate: KeyMaterial;
    readonly privateKey: KeyMaterial;
    readonly serverCertificate: KeyMaterial;
    /** Resource 15: 0 CA constraint, 1 service certificate constraint, 2 trust anchor, 3 domain-issued (default). */
    readonly certificateUsage?: CertificateUsage;
    /** Resource 14: the name the server certificate must carry when it is not the URI's host. */
    readonly serverNameIndication?: string;
  };
  /** Client Hold Off Time in seconds (before a client-initiated bootstrap). */
  readonly holdOffTime?: number;
  /** Bootstrap-Server Account Timeout in seconds. */
  readonly accountTimeout?: number;
}

function der(material: KeyMaterial, what: string, convert: (pem: string) => Uint8Array): Uint8Array {
  if (typeof material !== 'string') return material;
  try {
    return convert(material);
  } catch (error) {
    throw new ClientConfigError(`${what} is neither DER nor readable PEM`, { cause: error });
  }
}

/** `openssl ecparam -genkey` writes an EC PARAMETERS block before the key: keep only the key's block. */
function privateKeyBlock(pem: string): string {
  return /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/.exec(pem)?.[0] ?? pem;
}

const privateKeyDer = (m: KeyMaterial): Uint8Array =>
  der(
    m,
    'private key',
    (pem) => new Uint8Array(createPrivateKey(privateKeyBlock(pem)).export({ type: 'pkcs8', format: 'der' })),
  );
const publicKeyDer = (m: KeyMaterial): Uint8Array =>
  der(m, 'public key', (pem) => new Uint8Array(createPublicKey(pem).export({ type: 'spki', format: 'der' })));
const certificateDer = (m: KeyMaterial): Uint8Array =>
  der(m, 'certificate', (pem) => new Uint8Array(new X509Certificate(pem).raw));

/** Resources 2 (mode), 3, 4 and 5 for the config's credentials, plus 14 and 15 for certificates. */
function credentialResources(config: SecurityConfig): [number, number | string | Uint8Array][] {
  const given = [config.psk, config.rpk, config.x509].filter((c) => c !== undefined).length;
  if (given > 1) throw new ClientConfigError(`${config.uri}: give at most one of psk, rpk and x509`);
  const empty = new Uint8Array(0);
  if (config.psk !== undefined) {
    return [
      [2, SecurityMode.PSK],
      [3, new TextEncoder().encode(config.psk.identity)],
      [4, empty],
      [5, config.psk.key],
    ];
  }
  if (config.rpk !== undefined) {
    const privateKey = privateKeyDer(config.rpk.privateKey);
    const ours = createPublicKey(
      createPrivateKey({ key: Buffer.from(privateKey), format: 'der', type: 'pkcs8' }),
    );
    return [
      [2, SecurityMode.RPK],
      [3, new Uint8Array(ours.export({ type: 'spki', format: 'der' }))],
      [4, publicKeyDer(config.rpk.serverPublicKey)],
      [5, privateKey],
    ];
  }
  if (config.x509 !== undefined) {
    const x509 = config.x509;
    const resources: [number, number | string | Uint8Array][] = [
      [2, SecurityMode.CERTIFICATE],
      [3, certificateDer(x509.certificate)],
      [4, certificateDer(x509.serverCertificate)],
      [5, privateKeyDer(x509.privateKey)],
    ];
    if (x509.serverNameIndication !== undefined) resources.push([14, x509.serverNameIndication]);
    if (x509.certificateUsage !== undefined) resources.push([15, x509.certificateUsage]);
    return resources;
  }
  return [
    [2, SecurityMode.NO_SEC],
    [3, empty],
    [4, empty],
    [5, empty],
  ];
}

/** A Security instance (object 0) from a config. */
export function securityInstance(config: SecurityConfig): StoredInstance {
  const values = new Map<number, string | boolean | number | Uint8Array>([
    [0, config.uri],
    [1, config.bootstrap === true],
    ...credentialResources(config),
  ]);
  if (config.ssid !== undefined) values.set(10, config.ssid);
  if (config.holdOffTime !== undefined) values.set(11, config.holdOffTime);
  if (config.accountTimeout !== undefined) values.set(12, config.accountTimeout);
  return new StoredInstance(values);
}

function createSecurityInstance(): InstanceHandler {
  return new StoredInstance();
}

/** Object 0 without start instances (the client adds them): written by the bootstrap server, never visible to DM servers. */
export function securityObject(): ObjectImplementation {
  return { id: 0, create: createSecurityInstance };
}
