import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files of one key pair and its certificate, made with the openssl CLI. */
export interface Issued {
  readonly keyFile: string;
  readonly certFile: string;
  readonly key: Buffer;
  readonly cert: Buffer;
}

/**
 * A throw-away PKI in a temporary directory, made with the openssl command line the way a user
 * would (`openssl ecparam -name secp256r1 -genkey`): SEC1 keys with their EC PARAMETERS block.
 */
export interface TestPki {
  readonly dir: string;
  /** A self-signed root CA (CA:TRUE). */
  ca(name: string): Issued;
  /** A certificate for `cn` signed by `issuer`; `days` < 0 makes it expired, `isCa` an intermediate. */
  issue(cn: string, issuer: Issued, options?: { days?: number; isCa?: boolean; san?: string }): Issued;
  /** A key pair without a certificate (for raw public keys). */
  key(name: string): { keyFile: string; key: Buffer };
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'dtls-pki-'));
  let serial = 1;
  // Files are numbered: two certificates for one CN (an expired one, a rogue one) must not collide.
  let files = 0;
  const genKey = (name: string): string => {
    const keyFile = join(dir, `${name}-${files++}.key.pem`);
    openssl(['ecparam', '-name', 'secp256r1', '-genkey', '-out', keyFile], dir);
    return keyFile;
  };
  return {
    dir,
    ca(name) {
      const keyFile = genKey(name);
      const certFile = join(dir, `${name}-${files++}.pem`);
      openssl(
        ['req', '-x509', '-new', '-key', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`],
        dir,
      );
      return { keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) };
    },
    issue(cn, issuer, options = {}) {
      const keyFile = genKey(cn);
      const base = join(dir, `${cn}-${files++}`);
      const csr = `${base}.csr`;
      const certFile = `${base}.pem`;
      const ext = `${base}.ext`;
      writeFileSync(
        ext,
        options.isCa === true
          ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n'
          : `basicConstraints=CA:FALSE\nsubjectAltName=${options.san ?? `DNS:${cn}`}\n`,
      );
      openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', csr], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          issuer.certFile,
          '-CAkey',
          issuer.keyFile,
          '-set_serial',
          String(serial++),
          '-days',
          String(options.days ?? 1),
          '-extfile',
          ext,
          '-out',
          certFile,
        ],
        dir,
      );
      return { keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) };
    },
    key(name) {
      const keyFile = genKey(name);
      return { keyFile, key: readFileSync(keyFile) };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
