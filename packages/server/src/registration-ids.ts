import { randomBytes } from 'node:crypto';

/** 48 random bits: the `{id}` of `/rd/{id}`, short enough for constrained clients to store. */
const ID_BYTES = 6;

/**
 * Registration ids as 12 hex digits, cut from random chunks: one call into the CSPRNG per
 * `chunkSize / 6` ids instead of one per Register (a `randomBytes(6)` per id was the largest single
 * cost of a registration). Each source owns its chunk; nothing is shared between servers.
 */
export function createRegistrationIdSource(
  random: (size: number) => Buffer = randomBytes,
  chunkSize = 4096,
): () => string {
  const size = Math.max(ID_BYTES, chunkSize - (chunkSize % ID_BYTES));
  let chunk: Buffer = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + ID_BYTES > chunk.length) {
      chunk = random(size);
      offset = 0;
    }
    const start = offset;
    offset += ID_BYTES;
    return chunk.toString('hex', start, offset);
  };
}
