import { ccm8Decrypt, ccm8Encrypt, Ccm8Cipher } from './cipher-ccm8.js';
import { additionalData } from './record-cipher.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('AES-128-CCM_8', () => {
  // NIST SP 800-38C, Appendix C, Example 3: 12-byte nonce, 8-byte tag.
  const key = hex('404142434445464748494a4b4c4d4e4f');
  const nonce = hex('101112131415161718191a1b');
  const aad = hex('000102030405060708090a0b0c0d0e0f10111213');
  const plaintext = hex('202122232425262728292a2b2c2d2e2f3031323334353637');
  const sealed = hex('e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951');

  it('matches the NIST SP 800-38C example 3 vector', () => {
    expect(ccm8Encrypt(key, nonce, aad, plaintext).toString('hex')).toBe(sealed.toString('hex'));
    expect(ccm8Decrypt(key, nonce, aad, sealed)?.toString('hex')).toBe(plaintext.toString('hex'));
  });

  it('rejects a tampered ciphertext, tag or additional data', () => {
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x01;
      expect(ccm8Decrypt(key, nonce, aad, bad)).toBeUndefined();
    }
    const badAad = Buffer.from(aad);
    badAad[0]! ^= 0x80;
    expect(ccm8Decrypt(key, nonce, badAad, sealed)).toBeUndefined();
    expect(ccm8Decrypt(key, nonce, aad, sealed.subarray(0, 7))).toBeUndefined();
  });

  it('frames a record as explicit nonce (epoch+seq) + ciphertext + tag, nonce = salt + explicit', () => {
    const salt = hex('10111213');
    const cipher = new Ccm8Cipher(key, salt);
    const epoch = 0x1415;
    const seq = 0x161718191a1b;
    const record = Buffer.from(cipher.sealRecord(23, 0xfefd, epoch, seq, plaintext));
    const fragment = record.subarray(13);
    // Header: type, version, epoch, sequence number, then the protected fragment's length.
    expect(record.subarray(0, 13).toString('hex')).toBe('17' + 'fefd' + '1415' + '161718191a1b' + '0028');
    expect(fragment.subarray(0, 8).toString('hex')).toBe('1415161718191a1b');
    // Independent construction of the same record: nonce from NIST example, DTLS additional data.
    const expected = ccm8Encrypt(
      key,
      nonce,
      additionalData(23, 0xfefd, epoch, seq, plaintext.length),
      plaintext,
    );
    expect(fragment.subarray(8).toString('hex')).toBe(expected.toString('hex'));
    expect(fragment.length).toBe(plaintext.length + cipher.overhead);
    expect(Buffer.from(cipher.open(23, 0xfefd, epoch, seq, fragment)!)).toEqual(plaintext);
  });

  it('binds the record header: another type, epoch or sequence number does not open', () => {
    const cipher = new Ccm8Cipher(key, hex('00000000'));
    const fragment = cipher.sealRecord(23, 0xfefd, 1, 5, plaintext).subarray(13);
    expect(cipher.open(22, 0xfefd, 1, 5, fragment)).toBeUndefined();
    expect(cipher.open(23, 0xfefd, 2, 5, fragment)).toBeUndefined();
    expect(cipher.open(23, 0xfefd, 1, 6, fragment)).toBeUndefined();
    expect(cipher.open(23, 0xfeff, 1, 5, fragment)).toBeUndefined();
  });
});
