// Little-endian unsigned 64-bit integers held as JavaScript numbers (raft indexes and terms in
// the WAL and snapshot files): written from, and read back to, safe integers only.

const two32 = 2 ** 32;

/** Writes n at offset; throws a RangeError unless n is a non-negative safe integer. */
export function writeU64LE(buf: Buffer, offset: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative safe integer: ${n}`);
  buf.writeUInt32LE(n % two32, offset);
  buf.writeUInt32LE(Math.floor(n / two32), offset + 4);
}

/** Reads the value at offset; throws a RangeError above 2^53. */
export function readU64LE(buf: Buffer, offset: number): number {
  const n = buf.readUInt32LE(offset + 4) * two32 + buf.readUInt32LE(offset);
  if (!Number.isSafeInteger(n)) throw new RangeError('u64 above 2^53');
  return n;
}
