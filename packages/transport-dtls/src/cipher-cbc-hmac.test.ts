import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { CbcHmacCipher, dummyCompressions, sha256Compressions } from './cipher-cbc-hmac.js';
import { additionalData } from './record-cipher.js';
import { RecordLayer } from './record-layer.js';
import { ContentType, parseRecords, serializeRecord } from './record.js';

/** IV + CBC(content + mac + padding) with the padding byte and MAC chosen by the test. */
function handMade(content: Buffer, mac: Buffer, padding: Buffer): Buffer {
  const iv = Buffer.alloc(16, 5);
  const c = createCipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([iv, c.update(Buffer.concat([content, mac, padding])), c.final()]);
}

const key = Buffer.alloc(16, 0x11);
const macKey = Buffer.alloc(32, 0x22);

describe('AES-128-CBC + HMAC-SHA256 record protection', () => {
  it('produces IV + CBC(plaintext + HMAC(seq+header+plaintext) + TLS padding) (RFC 5246 §6.2.3.2)', () => {
    const cipher = new CbcHmacCipher(key, macKey);
    const plaintext = Buffer.from('hello, lwm2m');
    const fragment = Buffer.from(cipher.sealRecord(23, 0xfefd, 1, 7, plaintext).subarray(13));
    expect((fragment.length - 16) % 16).toBe(0);
    const decipher = createDecipheriv('aes-128-cbc', key, fragment.subarray(0, 16));
    decipher.setAutoPadding(false);
    const inner = Buffer.concat([decipher.update(fragment.subarray(16)), decipher.final()]);
    const pad = inner[inner.length - 1]!;
    expect(inner.subarray(inner.length - pad - 1).every((b) => b === pad)).toBe(true);
    const mac = createHmac('sha256', macKey)
      .update(additionalData(23, 0xfefd, 1, 7, plaintext.length))
      .update(plaintext)
      .digest();
    expect(inner.subarray(0, plaintext.length)).toEqual(plaintext);
    expect(inner.subarray(plaintext.length, plaintext.length + 32)).toEqual(mac);
  });

  it('round-trips every length around block boundaries', () => {
    const cipher = new CbcHmacCipher(key, macKey);
    for (let n = 0; n < 70; n++) {
      const plaintext = Buffer.alloc(n, n);
      const fragment = cipher.sealRecord(23, 0xfefd, 1, n, plaintext).subarray(13);
      expect(fragment.length).toBeLessThanOrEqual(n + cipher.overhead);
      expect(Buffer.from(cipher.open(23, 0xfefd, 1, n, fragment)!)).toEqual(plaintext);
    }
  });

  it('drops any tampered byte, a wrong header, and impossible lengths', () => {
    const cipher = new CbcHmacCipher(key, macKey);
    const fragment = Buffer.from(cipher.sealRecord(23, 0xfefd, 1, 1, Buffer.from('payload')).subarray(13));
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
    const mac = createHmac('sha256', macKey)
      .update(additionalData(23, 0xfefd, 0, 0, 3))
      .update(plaintext)
      .digest();
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

  it('runs the same number of SHA-256 compressions whatever the padding length (Lucky Thirteen)', () => {
    // The inner HMAC hash covers 64 key bytes + 13 header bytes + the content; the dummy hash of
    // k * 64 - 9 bytes runs k compressions. Their sum must not depend on the padding length.
    expect(sha256Compressions(0)).toBe(1);
    expect(sha256Compressions(55)).toBe(1);
    expect(sha256Compressions(56)).toBe(2);
    for (const n of [48, 64, 128, 272, 1024, 1440, 16384 + 48]) {
      const max = n - 32 - 1;
      const totals = new Set<number>();
      for (let pad = 0; pad <= Math.min(255, max); pad++) {
        const length = max - pad;
        totals.add(sha256Compressions(64 + 13 + length) + dummyCompressions(length, max));
      }
      expect([...totals]).toEqual([sha256Compressions(64 + 13 + max) + 1]);
    }
  });

  it('drops bad padding and a bad MAC the same way: nothing returned, replay window untouched', () => {
    const content = Buffer.from('0123456789');
    const goodMac = createHmac('sha256', macKey)
      .update(additionalData(23, 0xfefd, 1, 0, content.length))
      .update(content)
      .digest();
    const badMac = Buffer.from(goodMac);
    badMac[0]! ^= 1;
    const goodPadding = Buffer.alloc(6, 5); // 10 + 32 + 6 = 48: five padding bytes and the length byte, all 5
    const badPadding = Buffer.from(goodPadding);
    badPadding[1] = 9;
    const cases = {
      good: handMade(content, goodMac, goodPadding),
      badMac: handMade(content, badMac, goodPadding),
      badPadding: handMade(content, goodMac, badPadding),
      both: handMade(content, badMac, badPadding),
    };
    const layer = new RecordLayer();
    const cipher = new CbcHmacCipher(key, macKey);
    layer.setPending(cipher, cipher);
    layer.activateRead();
    const record = (fragment: Buffer) =>
      parseRecords(serializeRecord(ContentType.applicationData, 0xfefd, 1, 0, fragment))[0]!;
    for (const bad of [cases.badMac, cases.badPadding, cases.both]) {
      expect(cipher.open(23, 0xfefd, 1, 0, bad)).toBeUndefined();
      expect(layer.open(record(bad))).toBeUndefined();
    }
    // None of them used up sequence number 0: the genuine record with it is still accepted.
    expect(Buffer.from(layer.open(record(cases.good))!)).toEqual(content);
    expect(layer.open(record(cases.good))).toBeUndefined(); // and now it is a replay
  });
});
