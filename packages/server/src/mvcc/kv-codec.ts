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

// ---- etcd's on-disk form (for HashKV) ----
// etcd stores a marshalled mvccpb.KeyValue (fields 1 key, 2 create_revision, 3 mod_revision,
// 4 version, 5 value, 6 lease; proto3 leaves zero fields out); a tombstone holds only the key.

const kvFieldKey = 1;
const kvFieldCreate = 2;
const kvFieldMod = 3;
const kvFieldVersion = 4;
const kvFieldValue = 5;
const kvFieldLease = 6;
const wireVarint = 0;
const wireBytes = 2;

function varintBytes(n: bigint): number {
  let u = BigInt.asUintN(64, n);
  let len = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    len++;
  }
  return len;
}

function writeVarint(b: Buffer, o: number, n: bigint): number {
  let u = BigInt.asUintN(64, n);
  while (u >= 0x80n) {
    b[o++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  b[o++] = Number(u);
  return o;
}

/** The bytes etcd keeps in its key bucket for the entry `stored` (our layout) at revision main. */
export function etcdKvBytes(stored: Buffer, main: number, tombstone: boolean): Buffer {
  const key = decodeKey(stored);
  const fields: Array<[number, bigint | Buffer]> = [[kvFieldKey, key]];
  if (!tombstone) {
    const kv = decodeKv(stored, BigInt(main));
    fields.push([kvFieldCreate, kv.createRevision], [kvFieldMod, kv.modRevision], [kvFieldVersion, kv.version], [kvFieldValue, kv.value], [kvFieldLease, kv.lease]);
  }
  let size = 0;
  for (const [, x] of fields) {
    if (typeof x === 'bigint') size += x === 0n ? 0 : 1 + varintBytes(x);
    else size += x.length === 0 ? 0 : 1 + varintBytes(BigInt(x.length)) + x.length;
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const [field, x] of fields) {
    if (typeof x === 'bigint') {
      if (x === 0n) continue;
      out[o++] = (field << 3) | wireVarint;
      o = writeVarint(out, o, x);
    } else {
      if (x.length === 0) continue;
      out[o++] = (field << 3) | wireBytes;
      o = writeVarint(out, o, BigInt(x.length));
      o += x.copy(out, o);
    }
  }
  return out;
}
