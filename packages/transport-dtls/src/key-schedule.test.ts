import { finishedVerifyData, masterSecret, pskPremaster } from './key-schedule.js';
import { prf } from './prf.js';

describe('key schedule', () => {
  it('builds the PSK premaster secret of RFC 4279 §2', () => {
    expect(Buffer.from(pskPremaster(Buffer.from('0a0b0c', 'hex'))).toString('hex')).toBe(
      '0003' + '000000' + '0003' + '0a0b0c',
    );
  });

  it('uses "extended master secret" over the session hash when EMS is negotiated (RFC 7627 §4)', () => {
    const pre = pskPremaster(Buffer.from('secret'));
    const cr = Buffer.alloc(32, 1);
    const sr = Buffer.alloc(32, 2);
    const hash = Buffer.alloc(32, 3);
    expect(Buffer.from(masterSecret(pre, cr, sr, hash))).toEqual(
      Buffer.from(prf(pre, 'extended master secret', hash, 48)),
    );
    expect(Buffer.from(masterSecret(pre, cr, sr, undefined))).toEqual(
      Buffer.from(prf(pre, 'master secret', Buffer.concat([cr, sr]), 48)),
    );
    expect(Buffer.from(masterSecret(pre, cr, sr, hash))).not.toEqual(
      Buffer.from(masterSecret(pre, cr, sr, undefined)),
    );
  });

  it('derives 12-byte Finished values that differ per sender', () => {
    const master = Buffer.alloc(48, 7);
    const hash = Buffer.alloc(32, 8);
    const client = finishedVerifyData(master, 'client', hash);
    expect(client).toHaveLength(12);
    expect(Buffer.from(client)).toEqual(Buffer.from(prf(master, 'client finished', hash, 12)));
    expect(Buffer.from(finishedVerifyData(master, 'server', hash))).not.toEqual(Buffer.from(client));
  });
});
