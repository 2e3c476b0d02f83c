import type { ObjectInstanceNode } from '@lwm2m/core';

/** Fields every Security (object 0) instance shares. */
interface SecurityInstanceBase {
  /**
   * Instance id on the client. When absent the session first runs a Bootstrap-Discover and picks
   * a free id (the client's bootstrap account keeps its own id).
   */
  readonly instanceId?: number;
  /** Resource 0, e.g. `coaps://lwm2m.example.com:5684`. */
  readonly uri: string;
  /** Resource 1: true for the bootstrap server account. Default false. */
  readonly bootstrap?: boolean;
  /** Resource 10: the Short Server ID of the LwM2M server this account is for (not for a bootstrap account). */
  readonly ssid?: number;
  /** Resource 11: Client Hold Off Time, seconds. */
  readonly holdOffTime?: number;
  /** Resource 12: Bootstrap-Server Account Timeout, seconds (bootstrap account only). */
  readonly accountTimeout?: number;
  /** Resource 17 (1.1): link to the OSCORE (21) instance with this id. */
  readonly oscoreInstanceId?: number;
}

/** No DTLS: resource 2 = 3. */
export interface NoSecInstanceConfig extends SecurityInstanceBase {
  readonly mode: 'nosec';
}

/** DTLS with a pre-shared key: resource 2 = 0, 3 = identity (UTF-8), 5 = key. */
export interface PskInstanceConfig extends SecurityInstanceBase {
  readonly mode: 'psk';
  readonly identity: string;
  readonly key: Uint8Array;
}

/** DTLS with raw public keys (RFC 7250): resource 2 = 1. */
export interface RpkInstanceConfig extends SecurityInstanceBase {
  readonly mode: 'rpk';
  /** Resource 3: the client's public key, SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  /** Resource 5: the client's private key (PKCS#8 DER or the raw scalar, as the device expects). */
  readonly privateKey: Uint8Array;
  /** Resource 4: the server's public key, SubjectPublicKeyInfo DER. */
  readonly serverPublicKey: Uint8Array;
}

/** DTLS with certificates: resource 2 = 2. */
export interface X509InstanceConfig extends SecurityInstanceBase {
  readonly mode: 'x509';
  /** Resource 3: the client's certificate, DER. */
  readonly certificate: Uint8Array;
  /** Resource 5: the client's private key, DER. */
  readonly privateKey: Uint8Array;
  /** Resource 4: the server's certificate (or its CA), DER. */
  readonly serverCertificate: Uint8Array;
  /** The CN the LwM2M server expects in the client certificate; the endpoint name when absent. */
  readonly commonName?: string;
  /**
   * Resource 15 (1.1), RFC 6698 semantics of resource 4: 0 CA constraint, 1 service certificate
   * constraint, 2 trust anchor assertion, 3 domain-issued certificate (the client's default).
   */
  readonly certificateUsage?: 0 | 1 | 2 | 3;
  /** Resource 14 (1.1): the name the server certificate must carry when it is not the URI's host. */
  readonly serverNameIndication?: string;
}

export type SecurityInstanceConfig =
  NoSecInstanceConfig | PskInstanceConfig | RpkInstanceConfig | X509InstanceConfig;

export type SecurityMode = SecurityInstanceConfig['mode'];

/** One LwM2M Server (object 1) instance. */
export interface ServerInstanceConfig {
  /** Instance id on the client; the next free id from 0 when absent. */
  readonly instanceId?: number;
  /** Resource 0: Short Server ID, 1..65534; must match a Security instance's `ssid`. */
  readonly ssid: number;
  /** Resource 1: registration lifetime, seconds. */
  readonly lifetime: number;
  /** Resource 2: default minimum period, seconds. */
  readonly pmin?: number;
  /** Resource 3: default maximum period, seconds. */
  readonly pmax?: number;
  /** Resource 5: disable timeout, seconds. */
  readonly disableTimeout?: number;
  /** Resource 6: store notifications while disabled or offline. Default true. */
  readonly notificationStoring?: boolean;
  /** Resource 7: binding, e.g. `U`, `UQ` (1.0) or `T`, `US` (1.1). Default `U`. */
  readonly binding?: string;
}

/** One OSCORE (object 21) instance (LwM2M 1.1+). */
export interface OscoreInstanceConfig {
  readonly instanceId?: number;
  /** Resource 0. */
  readonly masterSecret: Uint8Array;
  /** Resource 1. */
  readonly senderId: Uint8Array;
  /** Resource 2. */
  readonly recipientId: Uint8Array;
  /** Resource 3: COSE AEAD algorithm id (10 = AES-CCM-16-64-128, the default of RFC 8613). */
  readonly aeadAlgorithm?: number;
  /** Resource 4: HKDF algorithm id (-10 = HKDF SHA-256). */
  readonly hmacAlgorithm?: number;
  /** Resource 5. */
  readonly masterSalt?: Uint8Array;
  /** Resource 6. */
  readonly idContext?: Uint8Array;
}

/** Any other object instance to write (Access Control 2, APN profiles, vendor objects…). */
export interface ExtraInstanceConfig {
  readonly objectId: number;
  readonly instance: ObjectInstanceNode;
}

/** What a bootstrap session does for one endpoint (or every endpoint a pattern matches). */
export interface BootstrapConfig {
  /**
   * Bootstrap-Delete targets, sent first in this order: `/`, an object (`/0`) or an instance
   * (`/1/0`). Default `['/0', '/1']`. The client keeps its bootstrap account whatever is deleted
   * (TS Core §5.2.7.5); after a Discover, a delete aimed at that account is skipped.
   */
  readonly delete?: readonly string[];
  /** Run a Bootstrap-Discover first, even when every instance id is given. Default false. */
  readonly discover?: boolean;
  /** Bootstrap-Read targets (1.1+ clients only): `/1`, `/2` or instances of them. Default none. */
  readonly read?: readonly string[];
  /** Content format of the writes; default the client's `pct`, else TLV. */
  readonly contentFormat?: number;
  readonly security: readonly SecurityInstanceConfig[];
  readonly servers: readonly ServerInstanceConfig[];
  readonly oscore?: readonly OscoreInstanceConfig[];
  readonly objects?: readonly ExtraInstanceConfig[];
}
