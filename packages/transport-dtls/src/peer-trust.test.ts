import { generateKeyPairSync } from 'node:crypto';
import { AlertDescription } from './errors.js';
import { checkPeerCertificate } from './peer-trust.js';

const peer = { address: '127.0.0.1', port: 5684 };

describe('checkPeerCertificate with raw public keys', () => {
  it('refuses a key that is not P-256 before the trust callback is asked (callbacks may accept any key)', async () => {
    let asked = 0;
    const trust = { anchors: [], serverName: undefined, verifyRawPublicKey: () => (asked++, true) };
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    await expect(checkPeerCertificate(trust, { kind: 'rpk', spki: p384 }, peer)).rejects.toMatchObject({
      alert: AlertDescription.unsupportedCertificate,
    });
    await expect(
      checkPeerCertificate(trust, { kind: 'rpk', spki: Uint8Array.of(1, 2, 3) }, peer),
    ).rejects.toMatchObject({
      alert: AlertDescription.badCertificate,
    });
    expect(asked).toBe(0);

    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    const verified = await checkPeerCertificate(trust, { kind: 'rpk', spki: p256 }, peer);
    expect(verified.identity).toEqual({ kind: 'rpk', publicKey: new Uint8Array(p256) });
    expect(asked).toBe(1);
  });
});
