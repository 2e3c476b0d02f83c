import { createHash, createHmac, randomBytes } from 'node:crypto';
import { HmacSha256, sha256Of } from './hmac-sha256.js';

describe('HMAC-SHA256 with precomputed pads', () => {
  it('matches RFC 4231 test case 2 and node:crypto for keys shorter, equal to and longer than a block', () => {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    expect(
      new HmacSha256(Buffer.from('Jefe')).digest(Buffer.from('what do ya want for nothing?')).toString('hex'),
    ).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    for (const keyLength of [0, 1, 32, 48, 64, 65, 131]) {
      const key = randomBytes(keyLength);
      const mac = new HmacSha256(key);
      for (const parts of [[], [randomBytes(13)], [randomBytes(13), randomBytes(100)], [randomBytes(1000)]]) {
        const expected = parts.reduce((h, p) => h.update(p), createHmac('sha256', key)).digest('hex');
        expect(mac.digest(...parts).toString('hex')).toBe(expected); // the same instance, again and again
      }
    }
  });

  it('hashes a list of parts as one message', () => {
    const parts = [randomBytes(5), randomBytes(70), randomBytes(0)];
    expect(sha256Of(parts)).toEqual(createHash('sha256').update(Buffer.concat(parts)).digest());
  });
});
