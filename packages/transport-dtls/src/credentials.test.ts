import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPki, type TestPki } from './test-pki.js';
import {
  loadCertificates,
  loadEcdsaCredentials,
  loadPrivateKey,
  loadPublicKey,
  spkiOf,
} from './credentials.js';
import { DtlsCredentialsError } from './errors.js';

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

const der = (args: string[]): Buffer =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'ignore'] });

describe('loadPrivateKey', () => {
  it('reads the SEC1 file `openssl ecparam -genkey` writes, EC PARAMETERS block included', () => {
    const { keyFile, key } = pki.key('sec1');
    expect(key.toString()).toContain('BEGIN EC PARAMETERS');
    expect(key.toString()).toContain('BEGIN EC PRIVATE KEY');
    const fromPath = loadPrivateKey(keyFile);
    const fromBytes = loadPrivateKey(key);
    const fromText = loadPrivateKey(key.toString());
    expect(spkiOf(fromBytes)).toEqual(spkiOf(fromPath));
    expect(spkiOf(fromText)).toEqual(spkiOf(fromPath));
  });

  it('reads PKCS#8 PEM, PKCS#8 DER and SEC1 DER', () => {
    const { keyFile } = pki.key('formats');
    const reference = spkiOf(loadPrivateKey(keyFile));
    const pkcs8Pem = der(['pkcs8', '-topk8', '-nocrypt', '-in', keyFile]);
    const pkcs8Der = der(['pkcs8', '-topk8', '-nocrypt', '-in', keyFile, '-outform', 'DER']);
    const sec1Der = der(['ec', '-in', keyFile, '-outform', 'DER']);
    expect(pkcs8Pem.toString()).toContain('BEGIN PRIVATE KEY');
    for (const input of [pkcs8Pem, pkcs8Der, sec1Der])
      expect(spkiOf(loadPrivateKey(input))).toEqual(reference);
    const derFile = join(pki.dir, 'sec1.der');
    writeFileSync(derFile, sec1Der);
    expect(spkiOf(loadPrivateKey(derFile))).toEqual(reference);
  });

  it('refuses keys that are not P-256, public keys, garbage and missing files', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(() => loadPrivateKey(p384.privateKey)).toThrow(DtlsCredentialsError);
    expect(() => loadPrivateKey(p384.privateKey.export({ type: 'pkcs8', format: 'pem' }))).toThrow(/P-256/);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(() => loadPrivateKey(p256.publicKey)).toThrow(DtlsCredentialsError);
    expect(() => loadPrivateKey(Buffer.from([1, 2, 3]))).toThrow(DtlsCredentialsError);
    expect(() => loadPrivateKey('/nonexistent/key.pem')).toThrow(/cannot read/);
  });
});

describe('loadPublicKey / loadCertificates / loadEcdsaCredentials', () => {
  it('reads a public key from PEM, DER SPKI and a private key', () => {
    const { keyFile } = pki.key('pub');
    const pem = der(['ec', '-in', keyFile, '-pubout']);
    const spki = der(['ec', '-in', keyFile, '-pubout', '-outform', 'DER']);
    expect(spkiOf(loadPublicKey(pem))).toEqual(spki);
    expect(spkiOf(loadPublicKey(spki))).toEqual(spki);
    expect(spkiOf(loadPublicKey(loadPrivateKey(keyFile)))).toEqual(spki);
  });

  it('reads a PEM chain with several certificates, and DER', () => {
    const ca = pki.ca('load-root');
    const leaf = pki.issue('load-leaf', ca);
    const chainFile = join(pki.dir, 'chain.pem');
    writeFileSync(chainFile, Buffer.concat([leaf.cert, ca.cert]));
    const chain = loadCertificates(chainFile);
    expect(chain.map((c) => c.subject)).toEqual(['CN=load-leaf', 'CN=load-root']);
    const leafDer = der(['x509', '-in', leaf.certFile, '-outform', 'DER']);
    expect(loadCertificates([leafDer, readFileSync(ca.certFile)])).toHaveLength(2);
    expect(() => loadCertificates(Buffer.from('-----BEGIN NOTHING-----'))).toThrow(DtlsCredentialsError);
  });

  it('refuses a certificate that does not belong to the key', () => {
    const ca = pki.ca('mismatch-root');
    const other = pki.key('other');
    expect(() => loadEcdsaCredentials(other.keyFile, ca.certFile)).toThrow(/does not belong/);
    expect(loadEcdsaCredentials(ca.keyFile, ca.certFile).chain).toHaveLength(1);
  });
});
