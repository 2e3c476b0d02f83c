import { prf } from './prf.js';

describe('prf (TLS 1.2 P_SHA256)', () => {
  it('matches the published TLS 1.2 PRF-SHA256 test vector', () => {
    // https://www.ietf.org/mail-archive/web/tls/current/msg03416.html
    const secret = Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex');
    const seed = Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex');
    const expected =
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66';
    expect(Buffer.from(prf(secret, 'test label', seed, 100)).toString('hex')).toBe(expected);
  });

  it('returns a prefix of the longer output for shorter lengths', () => {
    const secret = Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex');
    const seed = Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex');
    const long = prf(secret, 'test label', seed, 100);
    expect(Buffer.from(prf(secret, 'test label', seed, 12))).toEqual(Buffer.from(long.subarray(0, 12)));
    expect(Buffer.from(prf(secret, 'test label', seed, 32))).toEqual(Buffer.from(long.subarray(0, 32)));
  });
});
