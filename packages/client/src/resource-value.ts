/** A numeric resource value as a number: integers may be stored as number or bigint. */
export function readNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;
}
