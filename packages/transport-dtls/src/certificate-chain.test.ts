import { X509Certificate } from 'node:crypto';
import { createTestPki, type Issued, type TestPki } from './test-pki.js';
import { checkServerName, commonNameOf, verifyCertificateChain } from './certificate-chain.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';

let pki: TestPki;
let root: Issued;
beforeAll(() => {
  pki = createTestPki();
  root = pki.ca('chain-root');
});
afterAll(() => pki.remove());

const x509 = (issued: Issued): X509Certificate => new X509Certificate(issued.cert);

function alertOf(fn: () => void): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof DtlsHandshakeError) return error.alert;
    throw error;
  }
  return undefined;
}

describe('verifyCertificateChain', () => {
  it('accepts a leaf issued by an anchor, and a chain through an intermediate', () => {
    const leaf = pki.issue('leaf-a', root);
    expect(alertOf(() => verifyCertificateChain([x509(leaf)], [x509(root)]))).toBeUndefined();
    const mid = pki.issue('mid-a', root, { isCa: true });
    const deep = pki.issue('leaf-b', mid);
    expect(alertOf(() => verifyCertificateChain([x509(deep), x509(mid)], [x509(root)]))).toBeUndefined();
    // Without the intermediate the chain does not reach the anchor.
    expect(alertOf(() => verifyCertificateChain([x509(deep)], [x509(root)]))).toBe(
      AlertDescription.unknownCa,
    );
  });

  it('refuses an unknown CA, an expired certificate and one not yet valid', () => {
    const other = pki.ca('chain-other');
    const stranger = pki.issue('stranger', other);
    expect(alertOf(() => verifyCertificateChain([x509(stranger)], [x509(root)]))).toBe(
      AlertDescription.unknownCa,
    );
    const expired = pki.issue('expired', root, { days: -1 });
    expect(alertOf(() => verifyCertificateChain([x509(expired)], [x509(root)]))).toBe(
      AlertDescription.certificateExpired,
    );
    const leaf = x509(pki.issue('early', root));
    const before = Date.parse(leaf.validFrom) - 60_000;
    expect(alertOf(() => verifyCertificateChain([leaf], [x509(root)], before))).toBe(
      AlertDescription.badCertificate,
    );
    const after = Date.parse(leaf.validTo) + 60_000;
    expect(alertOf(() => verifyCertificateChain([leaf], [x509(root)], after))).toBe(
      AlertDescription.certificateExpired,
    );
  });

  it('refuses an intermediate that is not a CA, and a chain whose signatures do not link', () => {
    const notCa = pki.issue('not-a-ca', root);
    const below = pki.issue('below-not-ca', notCa);
    expect(alertOf(() => verifyCertificateChain([x509(below), x509(notCa)], [x509(root)]))).toBe(
      AlertDescription.badCertificate,
    );
    const mid = pki.issue('mid-b', root, { isCa: true });
    const otherMid = pki.issue('mid-c', root, { isCa: true });
    const unrelated = pki.issue('unrelated', otherMid);
    expect(alertOf(() => verifyCertificateChain([x509(unrelated), x509(mid)], [x509(root)]))).toBe(
      AlertDescription.badCertificate,
    );
  });

  it('trusts a pinned self-signed peer certificate', () => {
    const self = pki.ca('pinned-peer');
    expect(alertOf(() => verifyCertificateChain([x509(self)], [x509(self)]))).toBeUndefined();
  });
});

describe('names', () => {
  it('reads the CN and checks DNS and IP names', () => {
    const leaf = x509(pki.issue('named', root, { san: 'DNS:named,DNS:*.lwm2m.test,IP:10.0.0.1' }));
    expect(commonNameOf(leaf)).toBe('named');
    expect(() => checkServerName(leaf, 'named')).not.toThrow();
    expect(() => checkServerName(leaf, 'a.lwm2m.test')).not.toThrow();
    expect(() => checkServerName(leaf, '10.0.0.1')).not.toThrow();
    expect(() => checkServerName(leaf, '10.0.0.2')).toThrow(DtlsHandshakeError);
    expect(() => checkServerName(leaf, 'other')).toThrow(DtlsHandshakeError);
  });
});
