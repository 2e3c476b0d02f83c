/**
 * The DTLS server's certificate / raw public key side (ECDHE-ECDSA), from LWM2M_DTLS_KEY,
 * LWM2M_DTLS_CERT and LWM2M_DTLS_CA, as Leshan's server takes them.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { loadCertificates, loadPrivateKey } from '@lwm2m/transport-dtls';
import type { EcdsaServerOptions } from '@lwm2m/transport-dtls';
import { AppConfigError } from './config-error.js';

/** A key or certificate file that cannot be used: the message names the variable and the file. */
export class DtlsCredentialsConfigError extends AppConfigError {
  override readonly name = 'DtlsCredentialsConfigError';
}

export interface DtlsEcdsaSettings {
  /** What the DTLS server takes; undefined when LWM2M_DTLS_KEY is not set (PSK only). */
  readonly options: EcdsaServerOptions | undefined;
  /** Whether device certificates can be checked (LWM2M_DTLS_CA set). */
  readonly acceptsCertificates: boolean;
}

function load<T>(name: string, file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new DtlsCredentialsConfigError(`${name} (${file}): ${(error as Error).message}`);
  }
}

function certificates(name: string, file: string): X509Certificate[] {
  const loaded = load(name, file, () => loadCertificates(file));
  if (loaded.length === 0)
    throw new DtlsCredentialsConfigError(`${name} (${file}): no certificate in the file`);
  return loaded;
}

function spki(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

/**
 * Devices' raw public keys are all let through the handshake: the transport has already parsed the
 * key and refused any that is not P-256 before it asks. Which key belongs to which endpoint is
 * checked when the device registers (against the server's security store, as Leshan's
 * trustAllRPKs with its SecurityChecker) or asks to bootstrap (against its bootstrap config), so a
 * key added to a store or a config reloaded from its file needs no restart.
 */
const acceptAnyRawPublicKey = (): boolean => true;

/**
 * LWM2M_DTLS_KEY: our P-256 private key (PEM or DER, SEC1 or PKCS#8). LWM2M_DTLS_CERT: our chain,
 * leaf first; without it we offer our raw public key only. LWM2M_DTLS_CA: the CAs of device
 * certificates; without it X.509 devices are refused at the handshake.
 */
export function dtlsEcdsaSettings(env: NodeJS.ProcessEnv): DtlsEcdsaSettings {
  const keyFile = env['LWM2M_DTLS_KEY'];
  const certFile = env['LWM2M_DTLS_CERT'];
  const caFile = env['LWM2M_DTLS_CA'];
  if (keyFile === undefined || keyFile === '') {
    if ((certFile ?? '') !== '' || (caFile ?? '') !== '') {
      throw new DtlsCredentialsConfigError('LWM2M_DTLS_CERT and LWM2M_DTLS_CA need LWM2M_DTLS_KEY');
    }
    return { options: undefined, acceptsCertificates: false };
  }
  const key = load('LWM2M_DTLS_KEY', keyFile, () => loadPrivateKey(keyFile));
  const chain =
    certFile === undefined || certFile === '' ? undefined : certificates('LWM2M_DTLS_CERT', certFile);
  if (chain !== undefined && !spki((chain[0] as X509Certificate).publicKey).equals(spki(key))) {
    throw new DtlsCredentialsConfigError(
      `LWM2M_DTLS_CERT (${certFile}): its first certificate is not for LWM2M_DTLS_KEY (${keyFile})`,
    );
  }
  const anchors = caFile === undefined || caFile === '' ? undefined : certificates('LWM2M_DTLS_CA', caFile);
  return {
    options: {
      key,
      ...(chain === undefined ? {} : { certificate: chain }),
      clientAuth: {
        ...(anchors === undefined ? {} : { trustAnchors: anchors }),
        verifyRawPublicKey: acceptAnyRawPublicKey,
      },
    },
    acceptsCertificates: anchors !== undefined,
  };
}
