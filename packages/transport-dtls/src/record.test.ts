import { ContentType, DTLS_1_2, MAX_CIPHERTEXT_LENGTH, parseRecords, serializeRecord } from './record.js';

describe('DTLS records', () => {
  it('serialises the 13-byte header: type, version, epoch, 48-bit sequence, length (RFC 6347 §4.1)', () => {
    const record = serializeRecord(
      ContentType.applicationData,
      DTLS_1_2,
      1,
      0x0000_0102_0304,
      Buffer.from('hi'),
    );
    expect(Buffer.from(record).toString('hex')).toBe(
      '17' + 'fefd' + '0001' + '000001020304' + '0002' + '6869',
    );
  });

  it('round-trips the largest sequence number and epoch', () => {
    const seq = 2 ** 48 - 1;
    const [r] = parseRecords(
      serializeRecord(ContentType.handshake, DTLS_1_2, 0xffff, seq, Buffer.alloc(3, 7)),
    );
    expect(r).toMatchObject({ type: 22, version: 0xfefd, epoch: 0xffff, seq });
    expect(Buffer.from(r!.fragment)).toEqual(Buffer.alloc(3, 7));
  });

  it('reads several records from one datagram', () => {
    const datagram = Buffer.concat([
      serializeRecord(ContentType.handshake, DTLS_1_2, 0, 5, Buffer.from('a')),
      serializeRecord(ContentType.changeCipherSpec, DTLS_1_2, 0, 6, Buffer.of(1)),
      serializeRecord(ContentType.handshake, DTLS_1_2, 1, 0, Buffer.from('bcd')),
    ]);
    const records = parseRecords(datagram);
    expect(records.map((r) => [r.type, r.epoch, r.seq, r.fragment.length])).toEqual([
      [22, 0, 5, 1],
      [20, 0, 6, 1],
      [22, 1, 0, 3],
    ]);
  });

  it('keeps the records before a malformed one and drops the rest', () => {
    const good = serializeRecord(ContentType.alert, DTLS_1_2, 0, 1, Buffer.of(1, 0));
    const truncated = serializeRecord(ContentType.alert, DTLS_1_2, 0, 2, Buffer.of(1, 0)).subarray(0, 14);
    expect(parseRecords(Buffer.concat([good, truncated]))).toHaveLength(1);
    const badType = Buffer.from(good);
    badType[0] = 99;
    expect(parseRecords(Buffer.concat([good, badType, good]))).toHaveLength(1);
    const badVersion = Buffer.from(good);
    badVersion[1] = 0x03; // TLS, not DTLS
    expect(parseRecords(badVersion)).toHaveLength(0);
    expect(parseRecords(Buffer.alloc(12))).toHaveLength(0);
  });

  it('refuses a length above 2^14 + 2048', () => {
    const header = Buffer.from(serializeRecord(ContentType.applicationData, DTLS_1_2, 1, 0, Buffer.alloc(0)));
    const datagram = Buffer.concat([header, Buffer.alloc(MAX_CIPHERTEXT_LENGTH + 1)]);
    datagram.writeUInt16BE(MAX_CIPHERTEXT_LENGTH + 1, 11);
    expect(parseRecords(datagram)).toHaveLength(0);
    datagram.writeUInt16BE(MAX_CIPHERTEXT_LENGTH, 11);
    expect(parseRecords(datagram.subarray(0, 13 + MAX_CIPHERTEXT_LENGTH))).toHaveLength(1);
  });
});
