import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecurityEntryError, parseSecurityEntries } from '../src/security-entries.js';

describe('parseSecurityEntries', () => {
  let dir: string;
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'security-entries-'));
    writeFileSync(join(dir, 'dev.pub.pem'), pem);
    writeFileSync(join(dir, 'dev.pub.der'), spki);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const parse = (entries: unknown): ReturnType<typeof parseSecurityEntries> =>
    parseSecurityEntries(JSON.stringify(entries), 'test', dir);

  it('reads the old PSK entries: no mode, identity defaulting to the endpoint', () => {
    expect(
      parse([
        { endpoint: 'a', key: '0102' },
        { endpoint: 'b', identity: 'id-b', key: 'ff' },
      ]),
    ).toEqual([
      { endpoint: 'a', mode: 'psk', identity: 'a', key: Uint8Array.from([1, 2]) },
      { endpoint: 'b', mode: 'psk', identity: 'id-b', key: Uint8Array.from([0xff]) },
    ]);
  });

  it('reads rpk keys from a relative PEM file, a DER file, PEM text and base64 DER, all as SPKI DER', () => {
    const entries = parse([
      { endpoint: 'pem-file', mode: 'rpk', publicKey: 'dev.pub.pem' },
      { endpoint: 'der-file', mode: 'rpk', publicKey: join(dir, 'dev.pub.der') },
      { endpoint: 'pem-text', mode: 'rpk', publicKey: pem },
      { endpoint: 'base64', mode: 'rpk', publicKey: spki.toString('base64') },
    ]);
    for (const entry of entries) {
      expect(entry.mode).toBe('rpk');
      expect(entry.mode === 'rpk' && Buffer.from(entry.publicKey)).toEqual(spki);
    }
  });

  it('reads x509 entries with and without a commonName', () => {
    expect(
      parse([
        { endpoint: 'a', mode: 'x509' },
        { endpoint: 'b', mode: 'x509', commonName: 'cn-b' },
      ]),
    ).toEqual([
      { endpoint: 'a', mode: 'x509' },
      { endpoint: 'b', mode: 'x509', commonName: 'cn-b' },
    ]);
  });

  it.each([
    ['not an array', { endpoint: 'a' }, /must be a JSON array/],
    ['no endpoint', [{ key: '00' }], /test\[0\]: "endpoint" must be/],
    ['a bad hex key', [{ endpoint: 'a', key: 'xyz' }], /test\[0\] \(a\): "key" must be hex/],
    ['a key over 64 bytes', [{ endpoint: 'a', key: '00'.repeat(65) }], /"key" must be hex, 1-64 bytes/],
    [
      'an identity over 128 bytes',
      [{ endpoint: 'a', identity: 'x'.repeat(129), key: '00' }],
      /"identity" must be/,
    ],
    ['an unknown mode', [{ endpoint: 'a', mode: 'oscore' }], /"mode" must be psk, rpk or x509/],
    ['an rpk without a key', [{ endpoint: 'a', mode: 'rpk' }], /"publicKey" must be/],
    [
      'a missing key file',
      [{ endpoint: 'a', mode: 'rpk', publicKey: 'missing.pem' }],
      /missing\.pem not found/,
    ],
    [
      'base64 that is no key',
      [{ endpoint: 'a', mode: 'rpk', publicKey: 'AAAA' }],
      /neither a file .* nor base64 SPKI DER/,
    ],
    ['an empty commonName', [{ endpoint: 'a', mode: 'x509', commonName: '' }], /"commonName" must be/],
    [
      'an endpoint twice',
      [
        { endpoint: 'a', mode: 'x509' },
        { endpoint: 'a', key: '00' },
      ],
      /test\[1\]: endpoint a appears twice/,
    ],
  ])('refuses %s', (_name, entries, message) => {
    expect(() => parse(entries)).toThrow(SecurityEntryError);
    expect(() => parse(entries)).toThrow(message);
  });

  it('refuses a key that is not P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const der = rsa.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(() => parse([{ endpoint: 'a', mode: 'rpk', publicKey: der }])).toThrow(/P-256/);
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseSecurityEntries('[{', 'file.json')).toThrow(/file\.json is not JSON/);
  });
});
