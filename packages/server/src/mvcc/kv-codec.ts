// Compact binary encoding of a stored KeyValue (the key bucket's value); the mod revision is
// the bucket key itself. Layout: keyLen u32 | key | createRevision u64 | version u64 |
// lease i64 | value. A tombstone stores only keyLen | key.

import type { KeyValue } from './types.js';

const fixedBytes = 4 + 8 + 8 + 8;

export function encodeKv(key: Buffer, createRev: bigint, version: bigint, lease: bigint, value: Buffer): Buffer {
  const b = Buffer.allocUnsafe(fixedBytes + key.length + value.length);
  b.writeUInt32BE(key.length, 0);
  key.copy(b, 4);
  let o = 4 + key.length;
  b.writeBigUInt64BE(createRev, o);
  b.writeBigUInt64BE(version, o + 8);
  b.writeBigInt64BE(lease, o + 16);
  value.copy(b, o + 24);
  return b;
}

export function encodeTombstone(key: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4 + key.length);
  b.writeUInt32BE(key.length, 0);
  key.copy(b, 4);
  return b;
}

/** The user key of a stored entry (a view into `b`). */
export function decodeKey(b: Buffer): Buffer {
  const n = b.readUInt32BE(0);
  return b.subarray(4, 4 + n);
}

/** The user key of a stored entry as a latin1 string (no intermediate Buffer). */
export function decodeKeyString(b: Buffer): string {
  return b.toString('latin1', 4, 4 + b.readUInt32BE(0));
}

/** Decodes a non-tombstone entry; key and value are views into `b` (no copy). */
export function decodeKv(b: Buffer, modRevision: bigint): KeyValue {
  const n = b.readUInt32BE(0);
  const o = 4 + n;
  return {
    key: b.subarray(4, o),
    createRevision: b.readBigUInt64BE(o),
    modRevision,
    version: b.readBigUInt64BE(o + 8),
    value: b.subarray(o + 24),
    lease: b.readBigInt64BE(o + 16),
  };
}
