import { RetransmitTimer } from './flight.js';

describe('RetransmitTimer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('retransmits after 1 s, doubling up to 60 s, then gives up (RFC 6347 §4.2.4.1)', () => {
    const times: number[] = [];
    let gaveUp = false;
    const start = Date.now();
    const t = new RetransmitTimer(
      () => times.push(Date.now() - start),
      () => (gaveUp = true),
      { maxRetransmits: 8 },
    );
    t.start();
    jest.advanceTimersByTime(1000 + 2000 + 4000 + 8000 + 16000 + 32000 + 60000 + 60000);
    expect(times).toEqual([1000, 3000, 7000, 15000, 31000, 63000, 123000, 183000]);
    expect(gaveUp).toBe(false);
    jest.advanceTimersByTime(60000);
    expect(gaveUp).toBe(true);
  });

  it('restarts from 1 s for each new flight and stops cleanly', () => {
    let count = 0;
    const t = new RetransmitTimer(
      () => count++,
      () => undefined,
    );
    t.start();
    jest.advanceTimersByTime(3000); // 1 s, then 2 s
    expect(count).toBe(2);
    t.start();
    jest.advanceTimersByTime(1000);
    expect(count).toBe(3);
    t.stop();
    jest.advanceTimersByTime(100000);
    expect(count).toBe(3);
  });

  it('never lets a throwing callback escape the timer', () => {
    const t = new RetransmitTimer(
      () => {
        throw new Error('boom');
      },
      () => undefined,
    );
    t.start();
    expect(() => jest.advanceTimersByTime(1000)).not.toThrow();
  });
});
