import { FragmentAssembler } from './fragment-assembler.js';
import { encodeHandshake, parseHandshakeFragments } from './handshake-messages.js';

const frag = (seq: number, body: Uint8Array, offset: number, length: number) =>
  parseHandshakeFragments(encodeHandshake(11, seq, body, offset, length))[0]!;

describe('FragmentAssembler', () => {
  const body = Buffer.from('abcdefghijklmnopqrstuvwxyz');

  it('reassembles out-of-order, overlapping and repeated fragments', () => {
    const a = new FragmentAssembler();
    expect(a.add(frag(0, body, 20, 6))).toBe(true);
    expect(a.next()).toBeUndefined();
    a.add(frag(0, body, 0, 10));
    a.add(frag(0, body, 5, 10)); // overlaps
    a.add(frag(0, body, 0, 10)); // repeat
    expect(a.next()).toBeUndefined();
    a.add(frag(0, body, 14, 7));
    const m = a.next();
    expect(m).toMatchObject({ msgType: 11, messageSeq: 0 });
    expect(Buffer.from(m!.body).toString()).toBe(body.toString());
    expect(a.expectedSeq).toBe(1);
  });

  it('releases messages in message_seq order and reports older ones as repeats', () => {
    const a = new FragmentAssembler(3);
    a.add(frag(4, Buffer.from('second'), 0, 6));
    expect(a.next()).toBeUndefined();
    a.add(frag(3, Buffer.from('first'), 0, 5));
    expect(Buffer.from(a.next()!.body).toString()).toBe('first');
    expect(Buffer.from(a.next()!.body).toString()).toBe('second');
    expect(a.add(frag(3, Buffer.from('first'), 0, 5))).toBe(false);
  });

  it('ignores fragments inconsistent with the first one and messages far ahead', () => {
    const a = new FragmentAssembler();
    a.add(frag(0, body, 0, 4));
    a.add(parseHandshakeFragments(encodeHandshake(12, 0, body, 4, 22))[0]!); // another type
    expect(a.next()).toBeUndefined();
    a.add(frag(100, Buffer.from('x'), 0, 1));
    a.add(frag(0, body, 4, 22));
    expect(a.next()?.messageSeq).toBe(0);
    expect(a.next()).toBeUndefined();
  });

  it('delivers an empty message (ServerHelloDone)', () => {
    const a = new FragmentAssembler();
    a.add(parseHandshakeFragments(encodeHandshake(14, 0, new Uint8Array(0)))[0]!);
    expect(a.next()).toMatchObject({ msgType: 14, messageSeq: 0 });
  });
});
