// Revision keys of the key bucket: main (8 bytes BE) | sub (8 bytes BE) [| 't' for a tombstone],
// so the backend's byte order is revision order (etcd's layout). Inside the store revisions
// are plain numbers (main < 2^53 is asserted at the API boundary); the API speaks bigint.

export const revKeyBytes = 16;
export const tombstoneMark = 0x74; // 't'
const two32 = 0x1_0000_0000;

export function assertSafeRev(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`mvcc invariant violated: revision ${n} out of range`);
}

export function writeRev(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / two32), off);
  buf.writeUInt32BE(n >>> 0, off + 4);
}

export function readRev(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * two32 + buf.readUInt32BE(off + 4);
}

export function revKey(main: number, sub: number, tombstone: boolean): Buffer {
  const b = Buffer.allocUnsafe(tombstone ? revKeyBytes + 1 : revKeyBytes);
  writeRev(b, 0, main);
  writeRev(b, 8, sub);
  if (tombstone) b[revKeyBytes] = tombstoneMark;
  return b;
}

/** Smallest key of revision `main` (range bound). */
export function revStartKey(main: number): Buffer {
  return revKey(main, 0, false);
}

export function isTombstoneKey(k: Buffer): boolean {
  return k.length === revKeyBytes + 1 && k[revKeyBytes] === tombstoneMark;
}

const scratch = Buffer.alloc(revKeyBytes + 1);
const scratchLive = scratch.subarray(0, revKeyBytes);

/**
 * The key of a live (non-tombstone) revision in a shared scratch buffer: valid only until the
 * next call; for lookups that do not keep the key.
 */
export function scratchRevKey(main: number, sub: number): Buffer {
  writeRev(scratchLive, 0, main);
  writeRev(scratchLive, 8, sub);
  return scratchLive;
}

/** etcd's form of a revision key: main (8 bytes BE) | '_' | sub (8 bytes BE) [| 't'] (for HashKV). */
export function etcdRevKey(k: Buffer): Buffer {
  const out = Buffer.allocUnsafe(k.length + 1);
  k.copy(out, 0, 0, 8);
  out[8] = 0x5f; // '_'
  k.copy(out, 9, 8);
  return out;
}
