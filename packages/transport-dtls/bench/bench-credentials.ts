/** The one PSK identity and key both sides of dtls.bench.ts use. */
export const BENCH_IDENTITY = 'bench-device';
export const BENCH_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
