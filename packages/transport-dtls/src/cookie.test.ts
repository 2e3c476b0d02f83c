import { CookieGenerator } from './cookie.js';
import { encodeClientHello } from './handshake-messages.js';

const hello = (cookie: Uint8Array, random = Buffer.alloc(32, 1)) =>
  encodeClientHello({
    version: 0xfefd,
    random,
    sessionId: Buffer.alloc(0),
    cookie,
    cipherSuites: [0xc0a8],
    compressionMethods: Buffer.of(0),
    extensions: [],
  });

describe('CookieGenerator', () => {
  const peer = { address: '127.0.0.1', port: 40000 };

  it('accepts its own cookie on the ClientHello retransmitted with it', () => {
    const g = new CookieGenerator();
    const cookie = g.generate(peer, hello(new Uint8Array(0)));
    expect(cookie).toHaveLength(32);
    expect(g.verify(peer, hello(cookie), cookie)).toBe(true);
  });

  it('binds the cookie to address, port and ClientHello parameters', () => {
    const g = new CookieGenerator();
    const cookie = g.generate(peer, hello(new Uint8Array(0)));
    expect(g.verify({ ...peer, port: 40001 }, hello(cookie), cookie)).toBe(false);
    expect(g.verify({ ...peer, address: '127.0.0.2' }, hello(cookie), cookie)).toBe(false);
    expect(g.verify(peer, hello(cookie, Buffer.alloc(32, 2)), cookie)).toBe(false);
    expect(g.verify(peer, hello(Buffer.alloc(32)), Buffer.alloc(32))).toBe(false);
    expect(g.verify(peer, hello(Buffer.alloc(5)), Buffer.alloc(5))).toBe(false);
  });

  it('accepts cookies from the previous secret and refuses older ones', () => {
    let now = 0;
    const g = new CookieGenerator({ rotateMs: 1000, now: () => now });
    const cookie = g.generate(peer, hello(new Uint8Array(0)));
    now = 1500; // one rotation
    expect(g.verify(peer, hello(cookie), cookie)).toBe(true);
    now = 2600; // two rotations
    expect(g.verify(peer, hello(cookie), cookie)).toBe(false);
  });

  it('is stateless across instances only through its secret: another server refuses it', () => {
    const cookie = new CookieGenerator().generate(peer, hello(new Uint8Array(0)));
    expect(new CookieGenerator().verify(peer, hello(cookie), cookie)).toBe(false);
  });
});
