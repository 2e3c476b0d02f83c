import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { CbcHmacCipher } from './cipher-cbc-hmac.js';
import { additionalData } from './record-cipher.js';

const key = Buffer.alloc(16, 0x11);
const macKey = Buffer.alloc(32, 0x22);

describe('AES-128-CBC + HMAC-SHA256 record protection', () => {
  it('produces IV + CBC(plaintext + HMAC(seq+header+plaintext) + TLS padding) (RFC 5246 §6.2.3.2)', () => {
    const cipher = new CbcHmacCipher(key, macKey);
    const plaintext = Buffer.from('hello, lwm2m');
    const fragment = Buffer.from(cipher.seal(23, 0xfefd, 1, 7, plaintext));
    expect((fragment.length - 16) % 16).toBe(0);
    const decipher = createDecipheriv('aes-128-cbc', key, fragment.subarray(0, 16));
    decipher.setAutoPadding(false);
    const inner = Buffer.concat([decipher.update(fragment.subarray(16)), decipher.final()]);
    const pad = inner[inner.length - 1]!;
    expect(inner.subarray(inner.length - pad - 1).every((b) => b === pad)).toBe(true);
    const mac = createHmac('sha256', macKey).update(additionalData(23, 0xfefd, 1, 7, plaintext.length)).update(plaintext).digest();
    expect(inner.subarray(0, plaintext.length)).toEqual(plaintext);
    expect(inner.subarray(plaintext.length, plaintext.length + 32)).toEqual(mac);
  });

  it('round-trips every length around block boundaries', () => {
    const cipher = new CbcHmacCipher(key, macKey);
    for (let n = 0; n < 70; n++) {
      const plaintext = Buffer.alloc(n, n);
      const fragment = cipher.seal(23, 0xfefd, 1, n, plaintext);
      expect(fragment.length).toBeLessThanOrEqual(n + cipher.overhead);
      expect(Buffer.from(cipher.open(23, 0xfefd, 1, n, fragment)!)).toEqual(plaintext);
    }
  });

  it('drops any tampered byte, a wrong header, and impossible lengths', () => {
    const cipher = new CbcHmacCipher(key, macKey);
    const fragment = Buffer.from(cipher.seal(23, 0xfefd, 1, 1, Buffer.from('payload')));
    for (let i = 0; i < fragment.length; i++) {
      const bad = Buffer.from(fragment);
      bad[i]! ^= 0x40;
      expect(cipher.open(23, 0xfefd, 1, 1, bad)).toBeUndefined();
    }
    expect(cipher.open(23, 0xfefd, 1, 2, fragment)).toBeUndefined();
    expect(cipher.open(23, 0xfefd, 1, 1, fragment.subarray(0, fragment.length - 1))).toBeUndefined();
    expect(cipher.open(23, 0xfefd, 1, 1, fragment.subarray(0, 32))).toBeUndefined();
    expect(cipher.open(23, 0xfefd, 1, 1, new Uint8Array(0))).toBeUndefined();
  });

  it('rejects a record whose padding bytes are wrong even when the MAC would be right', () => {
    // Build a record by hand with a bad padding byte and a MAC computed as if the padding were fine.
    const plaintext = Buffer.from('abc');
    const mac = createHmac('sha256', macKey).update(additionalData(23, 0xfefd, 0, 0, 3)).update(plaintext).digest();
    const padLength = 12; // 3 + 32 + 1 + 12 = 48
    const body = Buffer.concat([plaintext, mac, Buffer.alloc(padLength + 1, padLength)]);
    body[plaintext.length + 32 + 2] = 0; // corrupt one padding byte
    const iv = Buffer.alloc(16, 3);
    const c = createCipheriv('aes-128-cbc', key, iv);
    c.setAutoPadding(false);
    const fragment = Buffer.concat([iv, c.update(body), c.final()]);
    expect(new CbcHmacCipher(key, macKey).open(23, 0xfefd, 0, 0, fragment)).toBeUndefined();
    body[plaintext.length + 32 + 2] = padLength; // and accepted once fixed
    const c2 = createCipheriv('aes-128-cbc', key, iv);
    c2.setAutoPadding(false);
    const good = Buffer.concat([iv, c2.update(body), c2.final()]);
    expect(Buffer.from(new CbcHmacCipher(key, macKey).open(23, 0xfefd, 0, 0, good)!)).toEqual(plaintext);
  });
});
