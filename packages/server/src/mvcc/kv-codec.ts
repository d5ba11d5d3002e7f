// Compact binary encoding of a stored KeyValue (the key bucket's value); the mod revision is
// the bucket key itself. Layout: keyLen u32 | key | createRevision u64 | version u64 |
// lease i64 | value. A tombstone stores only keyLen | key.

import { bigVarintSize as varintBytes, writeBigVarintAt as writeVarint, varintSize as varintBytesN, writeVarintAt as writeVarintN } from '@tsetcd/common';
import type { KeyValue } from './types.js';

const fixedBytes = 4 + 8 + 8 + 8;

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
const two32 = 0x1_0000_0000;

/**
 * A 64-bit field, written through numbers when it is a safe non-negative integer (revisions,
 * versions, leases): Buffer's BigInt writers build several BigInts per call.
 */
function writeU64(b: Buffer, v: bigint, o: number, signed: boolean): void {
  if (v >= 0n && v <= maxSafe) {
    const n = Number(v);
    const lo = n >>> 0;
    b.writeUInt32BE((n - lo) / two32, o);
    b.writeUInt32BE(lo, o + 4);
  } else if (signed) {
    b.writeBigInt64BE(v, o);
  } else {
    b.writeBigUInt64BE(v, o);
  }
}

export function encodeKv(key: Buffer, createRev: bigint, version: bigint, lease: bigint, value: Buffer): Buffer {
  const b = Buffer.allocUnsafe(fixedBytes + key.length + value.length);
  b.writeUInt32BE(key.length, 0);
  key.copy(b, 4);
  const o = 4 + key.length;
  writeU64(b, createRev, o, false);
  writeU64(b, version, o + 8, false);
  writeU64(b, lease, o + 16, true);
  value.copy(b, o + 24);
  return b;
}

/**
 * The KeyValue stored as `b` (encodeKv's output) from the fields it was built from: key and
 * value are views into `b`, as decodeKv gives, without reading the numbers back.
 */
export function encodedKv(b: Buffer, keyLength: number, createRevision: bigint, modRevision: bigint, version: bigint, lease: bigint): KeyValue {
  const o = 4 + keyLength;
  return { key: b.subarray(4, o), createRevision, modRevision, version, value: b.subarray(o + 24), lease };
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

/** The lease of a stored (non-tombstone) entry, 0n for none (no BigInt built for the common 0). */
export function leaseOf(b: Buffer): bigint {
  const o = 4 + b.readUInt32BE(0) + 16;
  if (b.readUInt32BE(o) === 0 && b.readUInt32BE(o + 4) === 0) return 0n;
  return b.readBigInt64BE(o);
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

const twoTo53 = 2 ** 53;

/** A u64 field read as a number when it is a safe integer, else as a bigint. */
function readU64(b: Buffer, o: number): number | bigint {
  const hi = b.readUInt32BE(o);
  if (hi < 0x200000) return hi * 0x100000000 + b.readUInt32BE(o + 4);
  return b.readBigUInt64BE(o);
}

function fieldBytes(x: number | bigint): number {
  if (x === 0 || x === 0n) return 0;
  return 1 + (typeof x === 'number' ? varintBytesN(x) : varintBytes(x));
}

function writeField(b: Buffer, o: number, field: number, x: number | bigint): number {
  if (x === 0 || x === 0n) return o;
  b[o++] = (field << 3) | wireVarint;
  return typeof x === 'number' ? writeVarintN(b, o, x) : writeVarint(b, o, x);
}

/** The bytes etcd keeps in its key bucket for the entry `stored` (our layout) at revision main. */
export function etcdKvBytes(stored: Buffer, main: number, tombstone: boolean): Buffer {
  const keyLen = stored.readUInt32BE(0);
  const keyEnd = 4 + keyLen;
  let size = keyLen === 0 ? 0 : 1 + varintBytesN(keyLen) + keyLen;
  if (tombstone) {
    const out = Buffer.allocUnsafe(size);
    if (keyLen === 0) return out;
    out[0] = (kvFieldKey << 3) | wireBytes;
    const o = writeVarintN(out, 1, keyLen);
    stored.copy(out, o, 4, keyEnd);
    return out;
  }
  const create = readU64(stored, keyEnd);
  const version = readU64(stored, keyEnd + 8);
  // the lease is an int64: negative ones are 10-byte varints of their two's complement
  const leaseHi = stored.readInt32BE(keyEnd + 16);
  const lease: number | bigint = leaseHi >= 0 && leaseHi < 0x200000 ? leaseHi * 0x100000000 + stored.readUInt32BE(keyEnd + 20) : stored.readBigInt64BE(keyEnd + 16);
  const valueStart = keyEnd + 24;
  const valueLen = stored.length - valueStart;
  size += fieldBytes(create) + fieldBytes(main) + fieldBytes(version) + (valueLen === 0 ? 0 : 1 + varintBytesN(valueLen) + valueLen) + fieldBytes(lease);
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  if (keyLen > 0) {
    out[o++] = (kvFieldKey << 3) | wireBytes;
    o = writeVarintN(out, o, keyLen);
    o += stored.copy(out, o, 4, keyEnd);
  }
  o = writeField(out, o, kvFieldCreate, create);
  o = writeField(out, o, kvFieldMod, main);
  o = writeField(out, o, kvFieldVersion, version);
  if (valueLen > 0) {
    out[o++] = (kvFieldValue << 3) | wireBytes;
    o = writeVarintN(out, o, valueLen);
    o += stored.copy(out, o, valueStart);
  }
  o = writeField(out, o, kvFieldLease, lease);
  return out;
}
