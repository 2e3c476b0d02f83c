import fc from 'fast-check';
import { generate as generateWithCoapPacket, parse as parseWithCoapPacket } from 'coap-packet';
import { isLwm2mError } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { CoapMessageError } from './errors.js';
import { parseMessage, serializeMessage } from './message.js';
import type { CoapMessage, CoapOption } from './message.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];
const decode = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

function parseError(data: Uint8Array): CoapMessageError {
  try {
    parseMessage(data);
  } catch (error) {
    if (error instanceof CoapMessageError) return error;
    throw error;
  }
  throw new Error('parsed without error');
}

describe('RFC 7252 Appendix A vectors', () => {
  // A.1 "Confirmable request; piggybacked response": GET /temperature, MID 0x7d34, no token.
  const request = bytes(0x40, 0x01, 0x7d, 0x34, 0xbb, ...ascii('temperature'));
  const response = bytes(0x60, 0x45, 0x7d, 0x34, 0xff, ...ascii('22.3 C'));

  it('parses the GET request', () => {
    const message = parseMessage(request);
    expect(message.type).toBe(CoapType.CON);
    expect(message.code).toBe(CoapCode.GET);
    expect(message.messageId).toBe(0x7d34);
    expect(message.token.length).toBe(0);
    expect(message.options).toHaveLength(1);
    expect(message.options[0]!.number).toBe(11);
    expect(decode(message.options[0]!.value)).toBe('temperature');
    expect(message.payload.length).toBe(0);
  });

  it('parses the piggybacked 2.05 response', () => {
    const message = parseMessage(response);
    expect(message.type).toBe(CoapType.ACK);
    expect(message.code).toBe(CoapCode.CONTENT);
    expect(message.messageId).toBe(0x7d34);
    expect(decode(message.payload)).toBe('22.3 C');
  });

  it('serialises both back to the same bytes', () => {
    expect(serializeMessage(parseMessage(request))).toEqual(request);
    expect(serializeMessage(parseMessage(response))).toEqual(response);
  });

  it('reads a token (A.2 style: CON GET with a 2-byte token)', () => {
    const data = bytes(0x42, 0x01, 0x7d, 0x35, 0x20, 0xd6, 0xbb, ...ascii('temperature'));
    const message = parseMessage(data);
    expect([...message.token]).toEqual([0x20, 0xd6]);
    expect(serializeMessage(message)).toEqual(data);
  });
});

describe('option encoding (RFC 7252 §3.1)', () => {
  const encodeOne = (number: number, length: number): Uint8Array =>
    serializeMessage({
      type: CoapType.NON,
      code: CoapCode.GET,
      messageId: 1,
      token: new Uint8Array(0),
      options: [{ number, value: new Uint8Array(length).fill(0xaa) }],
      payload: new Uint8Array(0),
    });

  it.each([
    [12, 0, [0xc0]],
    [13, 0, [0xd0, 0x00]],
    [268, 0, [0xd0, 0xff]],
    [269, 0, [0xe0, 0x00, 0x00]],
    [270, 0, [0xe0, 0x00, 0x01]],
    [65535, 0, [0xe0, 0xfe, 0xf2]],
    [1, 12, [0x1c]],
    [1, 13, [0x1d, 0x00]],
    [1, 268, [0x1d, 0xff]],
    [1, 269, [0x1e, 0x00, 0x00]],
    [60, 300, [0xde, 60 - 13, 0x00, 300 - 269]],
  ])('option %i with a %i-byte value starts with %j', (number, length, head) => {
    const data = encodeOne(number, length);
    expect([...data.subarray(4, 4 + head.length)]).toEqual(head);
    expect(data.length).toBe(4 + head.length + length);
    const parsed = parseMessage(data);
    expect(parsed.options[0]!.number).toBe(number);
    expect(parsed.options[0]!.value.length).toBe(length);
  });

  it('writes deltas between options, repeated options in caller order, sorted by number', () => {
    const options: CoapOption[] = [
      { number: 15, value: Uint8Array.of(0x62) },
      { number: 11, value: Uint8Array.of(0x61) },
      { number: 11, value: Uint8Array.of(0x7a) },
    ];
    const data = serializeMessage({
      type: 0,
      code: 1,
      messageId: 2,
      token: new Uint8Array(0),
      options,
      payload: new Uint8Array(0),
    });
    expect([...data.subarray(4)]).toEqual([0xb1, 0x61, 0x01, 0x7a, 0x41, 0x62]);
  });

  it('keeps unknown options', () => {
    const data = bytes(0x50, 0x01, 0x00, 0x01, 0xe1, 0x07, 0x1b, 0x05);
    const message = parseMessage(data);
    expect(message.options).toEqual([{ number: 269 + 0x71b, value: Uint8Array.of(5) }]);
  });
});

describe('format errors', () => {
  it.each([
    ['shorter than the header', bytes(0x40, 0x01, 0x00)],
    ['version 2', bytes(0x80, 0x01, 0x00, 0x01)],
    ['token length 9', bytes(0x49, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9)],
    ['token past the end', bytes(0x44, 0x01, 0x00, 0x01, 1, 2)],
    ['empty message with a token', bytes(0x41, 0x00, 0x00, 0x01, 1)],
    ['empty message with bytes after the header', bytes(0x40, 0x00, 0x00, 0x01, 0xff)],
    ['payload marker with an empty payload', bytes(0x40, 0x01, 0x00, 0x01, 0xff)],
    ['option delta nibble 15', bytes(0x40, 0x01, 0x00, 0x01, 0xf1, 0x00)],
    ['option length nibble 15', bytes(0x40, 0x01, 0x00, 0x01, 0x1f, 0x00)],
    ['extended delta missing', bytes(0x40, 0x01, 0x00, 0x01, 0xd0)],
    ['2-byte extended length missing', bytes(0x40, 0x01, 0x00, 0x01, 0x1e, 0x00)],
    ['option value past the end', bytes(0x40, 0x01, 0x00, 0x01, 0x13, 0x61)],
    ['option number above 65535', bytes(0x40, 0x01, 0x00, 0x01, 0xe0, 0xff, 0xff, 0xe0, 0xff, 0xff)],
  ])('rejects %s with a typed error', (_name, data) => {
    const error = parseError(data);
    expect(isLwm2mError(error)).toBe(true);
    expect(error.code).toBe('ERR_COAP_MESSAGE');
  });

  it('reports message id and type once the header was read, so a CON can be reset', () => {
    const error = parseError(bytes(0x40, 0x01, 0x12, 0x34, 0xf1, 0x00));
    expect(error.messageId).toBe(0x1234);
    expect(error.type).toBe(CoapType.CON);
  });

  it('refuses to serialise what the format cannot carry', () => {
    const base: CoapMessage = {
      type: 0,
      code: 1,
      messageId: 1,
      token: new Uint8Array(0),
      options: [],
      payload: new Uint8Array(0),
    };
    expect(() => serializeMessage({ ...base, token: new Uint8Array(9) })).toThrow(CoapMessageError);
    expect(() => serializeMessage({ ...base, messageId: 65536 })).toThrow(CoapMessageError);
    expect(() => serializeMessage({ ...base, code: 256 })).toThrow(CoapMessageError);
    expect(() => serializeMessage({ ...base, type: 4 })).toThrow(CoapMessageError);
    expect(() =>
      serializeMessage({ ...base, options: [{ number: 65536, value: new Uint8Array(0) }] }),
    ).toThrow(CoapMessageError);
  });
});

const optionArb = fc.record({
  number: fc.oneof(
    fc.constantFrom(1, 3, 4, 6, 8, 11, 12, 14, 15, 17, 23, 27, 28, 60, 258),
    fc.integer({ min: 0, max: 65535 }),
  ),
  value: fc.uint8Array({ maxLength: 300 }),
});

const messageArb: fc.Arbitrary<CoapMessage> = fc
  .record({
    type: fc.integer({ min: 0, max: 3 }),
    code: fc.integer({ min: 1, max: 255 }),
    messageId: fc.integer({ min: 0, max: 0xffff }),
    token: fc.uint8Array({ maxLength: 8 }),
    options: fc.array(optionArb, { maxLength: 8 }),
    payload: fc.uint8Array({ maxLength: 200 }),
  })
  .map((m) => ({ ...m, options: [...m.options].sort((a, b) => a.number - b.number) }));

describe('round trips', () => {
  it('parse(serialize(m)) equals m', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        expect(parseMessage(serializeMessage(message))).toEqual(message);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees byte for byte with coap-packet in both directions', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const ours = serializeMessage(message);
        const theirs = parseWithCoapPacket(Buffer.from(ours));
        expect(theirs.messageId).toBe(message.messageId);
        expect([...theirs.token]).toEqual([...message.token]);
        expect([...theirs.payload]).toEqual([...message.payload]);
        expect(theirs.options.map((o) => o.value.length)).toEqual(message.options.map((o) => o.value.length));
        const regenerated = generateWithCoapPacket(
          {
            code: `${message.code >> 5}.${String(message.code & 31).padStart(2, '0')}`,
            messageId: message.messageId,
            token: Buffer.from(message.token),
            options: message.options.map((o) => ({ name: o.number, value: Buffer.from(o.value) })),
            payload: Buffer.from(message.payload),
            confirmable: message.type === 0,
            ack: message.type === 2,
            reset: message.type === 3,
          },
          100_000,
        );
        expect(new Uint8Array(regenerated)).toEqual(ours);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parser fuzz', () => {
  it('throws only CoapMessageError on 100k random and mutated datagrams', () => {
    const seed = serializeMessage({
      type: 0,
      code: 2,
      messageId: 9,
      token: Uint8Array.of(1, 2, 3),
      options: [
        { number: 11, value: Uint8Array.of(0x72, 0x64) },
        { number: 60, value: new Uint8Array(20) },
        { number: 2000, value: new Uint8Array(300) },
      ],
      payload: Uint8Array.of(1, 2, 3),
    });
    let state = 12345;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 0x100000000;
    };
    let parsed = 0;
    let notCanonical = 0;
    for (let i = 0; i < 100_000; i++) {
      let data: Uint8Array;
      if (i % 2 === 0) {
        data = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
        if (data.length > 0) data[0] = 0x40 | (data[0]! & 0x3f);
      } else {
        data = Uint8Array.from(seed);
        data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
        if (random() < 0.3) data = data.subarray(0, Math.floor(random() * data.length));
      }
      try {
        const message = parseMessage(data);
        parsed++;
        // Whatever parses must serialise back to the same bytes (the encoding is canonical).
        if (Buffer.compare(serializeMessage(message), data) !== 0) notCanonical++;
      } catch (error) {
        if (!(error instanceof CoapMessageError)) throw error;
      }
    }
    expect(parsed).toBeGreaterThan(1000);
    expect(notCanonical).toBe(0);
  });
});
