import { BlockAssembler, blockSize, decodeBlock, encodeBlock, sizeToSzx, sliceBlock } from './block.js';
import { CoapMessageError } from './errors.js';

describe('Block option (RFC 7959 §2.2)', () => {
  it('encodes NUM/M/SZX in 0-3 bytes', () => {
    expect([...encodeBlock({ num: 0, more: false, szx: 0 })]).toEqual([]);
    expect([...encodeBlock({ num: 0, more: true, szx: 6 })]).toEqual([0x0e]);
    expect([...encodeBlock({ num: 1, more: false, szx: 2 })]).toEqual([0x12]);
    expect([...encodeBlock({ num: 16, more: true, szx: 6 })]).toEqual([0x01, 0x0e]);
    expect([...encodeBlock({ num: 0xfffff, more: true, szx: 6 })]).toEqual([0xff, 0xff, 0xfe]);
    expect(() => encodeBlock({ num: 0x100000, more: false, szx: 0 })).toThrow(CoapMessageError);
  });

  it('decodes what it encodes, and rejects SZX 7 and 4-byte values', () => {
    for (const block of [
      { num: 0, more: false, szx: 0 },
      { num: 5, more: true, szx: 2 },
      { num: 70000, more: false, szx: 6 },
    ]) {
      expect(decodeBlock(encodeBlock(block))).toEqual(block);
    }
    expect(decodeBlock(Uint8Array.of(0x0f))).toBeUndefined();
    expect(decodeBlock(Uint8Array.of(0, 0, 0, 1))).toBeUndefined();
  });

  it('maps sizes and exponents', () => {
    expect(blockSize(0)).toBe(16);
    expect(blockSize(6)).toBe(1024);
    expect(sizeToSzx(64)).toBe(2);
    expect(() => sizeToSzx(100)).toThrow(CoapMessageError);
    expect(() => sizeToSzx(2048)).toThrow(CoapMessageError);
  });

  it('slices a body into blocks', () => {
    const body = Uint8Array.from({ length: 40 }, (_, i) => i);
    expect(sliceBlock(body, 0, 0)).toEqual({ data: body.subarray(0, 16), more: true });
    expect(sliceBlock(body, 2, 0)).toEqual({ data: body.subarray(32, 40), more: false });
    expect(sliceBlock(body, 3, 0)).toBeUndefined();
    expect(sliceBlock(new Uint8Array(32), 2, 0)).toBeUndefined();
    expect(sliceBlock(new Uint8Array(0), 0, 0)).toEqual({ data: new Uint8Array(0), more: false });
  });
});

describe('BlockAssembler', () => {
  it('collects blocks in order, recognises duplicates and gaps, bounds the size', () => {
    const assembler = new BlockAssembler(40);
    expect(assembler.add(0, 0, new Uint8Array(16).fill(1))).toBe('ok');
    expect(assembler.add(0, 0, new Uint8Array(16).fill(1))).toBe('duplicate');
    expect(assembler.add(2, 0, new Uint8Array(16).fill(3))).toBe('gap');
    expect(assembler.add(1, 0, new Uint8Array(16).fill(2))).toBe('ok');
    expect(assembler.add(2, 0, new Uint8Array(16).fill(3))).toBe('too-large');
    expect(assembler.add(2, 0, new Uint8Array(8).fill(3))).toBe('ok');
    const body = assembler.body();
    expect(body.length).toBe(40);
    expect([body[0], body[16], body[39]]).toEqual([1, 2, 3]);
  });

  it('follows a change to a smaller block size by byte offset', () => {
    const assembler = new BlockAssembler(1000);
    expect(assembler.add(0, 2, new Uint8Array(64))).toBe('ok');
    expect(assembler.add(4, 0, new Uint8Array(16))).toBe('ok');
    expect(assembler.size).toBe(80);
  });
});
