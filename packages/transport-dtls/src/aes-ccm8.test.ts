import { randomBytes } from 'node:crypto';
import { AesCcm8 } from './aes-ccm8.js';
import { ccm8Decrypt, ccm8Encrypt } from './cipher-ccm8.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function seal(ccm: AesCcm8, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const out = Buffer.alloc(plaintext.length + 8);
  ccm.encrypt(nonce, aad, plaintext, out, 0);
  return out;
}

describe('AES-CCM_8 on reused AES objects', () => {
  it('matches the NIST SP 800-38C example 3 vector', () => {
    const ccm = new AesCcm8(hex('404142434445464748494a4b4c4d4e4f'));
    const nonce = hex('101112131415161718191a1b');
    const aad = hex('000102030405060708090a0b0c0d0e0f10111213');
    const plaintext = hex('202122232425262728292a2b2c2d2e2f3031323334353637');
    const sealed = seal(ccm, nonce, aad, plaintext);
    expect(sealed.toString('hex')).toBe('e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951');
    expect(ccm.decrypt(nonce, aad, sealed.subarray(0, 24), sealed.subarray(24))?.toString('hex')).toBe(
      plaintext.toString('hex'),
    );
  });

  it('agrees with node:crypto aes-128-ccm for every length 1..300 and random keys, nonces and data, across calls', () => {
    // One instance for the whole loop: each call must be independent of the previous ones.
    const key = randomBytes(16);
    const ccm = new AesCcm8(key);
    // Length 0 is left out: node:crypto's CCM cannot seal an empty plaintext ("tag not set").
    for (let length = 1; length <= 300; length++) {
      const nonce = randomBytes(12);
      const aad = randomBytes(13);
      const plaintext = randomBytes(length);
      const ours = seal(ccm, nonce, aad, plaintext);
      expect(ours.toString('hex')).toBe(ccm8Encrypt(key, nonce, aad, plaintext).toString('hex'));
      expect(ccm8Decrypt(key, nonce, aad, ours)?.toString('hex')).toBe(plaintext.toString('hex'));
      expect(ccm.decrypt(nonce, aad, ours.subarray(0, length), ours.subarray(length))?.toString('hex')).toBe(
        plaintext.toString('hex'),
      );
    }
  });

  it('seals and opens an empty plaintext (a tag alone)', () => {
    const ccm = new AesCcm8(randomBytes(16));
    const nonce = randomBytes(12);
    const aad = randomBytes(13);
    const sealed = seal(ccm, nonce, aad, new Uint8Array(0));
    expect(sealed).toHaveLength(8);
    expect(ccm.decrypt(nonce, aad, new Uint8Array(0), sealed)).toEqual(Buffer.alloc(0));
    sealed[0]! ^= 1;
    expect(ccm.decrypt(nonce, aad, new Uint8Array(0), sealed)).toBeUndefined();
  });

  it('refuses any flipped bit in ciphertext, tag, nonce or additional data, and keeps working after', () => {
    const key = randomBytes(16);
    const ccm = new AesCcm8(key);
    const nonce = randomBytes(12);
    const aad = randomBytes(13);
    const plaintext = randomBytes(40);
    const sealed = seal(ccm, nonce, aad, plaintext);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1 << (i % 8);
      expect(ccm.decrypt(nonce, aad, bad.subarray(0, 40), bad.subarray(40))).toBeUndefined();
    }
    for (const [n, a] of [
      [Buffer.from(nonce).fill(0, 0, 1), aad],
      [nonce, Buffer.from(aad).fill(0xff, 12)],
    ] as const) {
      expect(ccm.decrypt(n, a, sealed.subarray(0, 40), sealed.subarray(40))).toBeUndefined();
    }
    expect(ccm.decrypt(nonce, aad, sealed.subarray(0, 40), sealed.subarray(40, 47))).toBeUndefined();
    expect(Buffer.from(ccm.decrypt(nonce, aad, sealed.subarray(0, 40), sealed.subarray(40))!)).toEqual(
      plaintext,
    );
  });
  /** A DTLS-style nonce: 4-byte salt, then epoch and 48-bit sequence number. */
  function dtlsNonce(salt: Uint8Array, epoch: number, seq: number): Buffer {
    const nonce = Buffer.alloc(12);
    nonce.set(salt, 0);
    nonce.writeUInt16BE(epoch, 4);
    nonce.writeUIntBE(seq, 6, 6);
    return nonce;
  }

  it('agrees with node:crypto for counting nonces (the precomputed keystream) of changing lengths, epochs and salts', () => {
    const key = randomBytes(16);
    const sealer = new AesCcm8(key);
    const opener = new AesCcm8(key);
    const salt = randomBytes(4);
    const aad = randomBytes(13);
    // Sizes that fit the batch, then outgrow it, shrink, jump past a block edge, and a large one.
    const lengths = [1, 45, 51, 47, 48, 49, 64, 65, 80, 200, 3, 1024, 16, 33];
    let seq = 0;
    for (const epoch of [1, 2]) {
      for (let round = 0; round < 3; round++) {
        for (const length of lengths) {
          const nonce = dtlsNonce(salt, epoch, seq++);
          const plaintext = randomBytes(length);
          const reference = ccm8Encrypt(key, nonce, aad, plaintext);
          expect(seal(sealer, nonce, aad, plaintext).toString('hex')).toBe(reference.toString('hex'));
          expect(opener.open(nonce, aad, reference, 0, reference.length)?.toString('hex')).toBe(
            plaintext.toString('hex'),
          );
        }
      }
    }
    // Out of order, replayed and with another salt: each nonce still gets its own keystream.
    for (const [s, e, q] of [
      [salt, 2, seq + 5],
      [salt, 2, seq + 1],
      [salt, 2, seq + 1],
      [randomBytes(4), 2, seq + 2],
      [salt, 1, seq + 2],
      [salt, 2, 3],
    ] as const) {
      const nonce = dtlsNonce(s, e, q);
      const plaintext = randomBytes(40);
      const reference = ccm8Encrypt(key, nonce, aad, plaintext);
      expect(seal(sealer, nonce, aad, plaintext).toString('hex')).toBe(reference.toString('hex'));
      expect(opener.open(nonce, aad, reference, 0, reference.length)?.toString('hex')).toBe(
        plaintext.toString('hex'),
      );
    }
  });

  it('is right at the end of the 48-bit sequence space, where a batch cannot count further', () => {
    const key = randomBytes(16);
    const ccm = new AesCcm8(key);
    const salt = randomBytes(4);
    const aad = randomBytes(13);
    for (const seq of [2 ** 48 - 3, 2 ** 48 - 2, 2 ** 48 - 1, 0]) {
      const nonce = dtlsNonce(salt, 0xffff, seq);
      const plaintext = randomBytes(30);
      expect(seal(ccm, nonce, aad, plaintext).toString('hex')).toBe(
        ccm8Encrypt(key, nonce, aad, plaintext).toString('hex'),
      );
    }
  });

  it('opens ciphertext and tag in place inside a larger buffer, and refuses a truncated one', () => {
    const key = randomBytes(16);
    const ccm = new AesCcm8(key);
    const nonce = randomBytes(12);
    const aad = randomBytes(13);
    const plaintext = randomBytes(37);
    const framed = Buffer.concat([randomBytes(5), ccm8Encrypt(key, nonce, aad, plaintext), randomBytes(3)]);
    expect(ccm.open(nonce, aad, framed, 5, framed.length - 3)).toEqual(plaintext);
    expect(ccm.open(nonce, aad, framed, 5, framed.length - 4)).toBeUndefined();
    expect(ccm.open(nonce, aad, framed, 5, 12)).toBeUndefined();
    framed[5 + 37 + 7]! ^= 0x80; // last tag byte
    expect(ccm.open(nonce, aad, framed, 5, framed.length - 3)).toBeUndefined();
  });
});
