// 32-bit hashes used by the checker to compare logs and state machines cheaply.

export function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.byteLength; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines a running hash with more numbers (order-sensitive). */
export function mix(h: number, a: number, b: number): number {
  let x = h ^ Math.imul(a + 0x9e3779b9, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x ^= Math.imul(b + 0x27d4eb2f, 0x165667b1);
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  return (x ^ (x >>> 13)) >>> 0;
}
