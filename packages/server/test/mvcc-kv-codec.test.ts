// The stored form of a KeyValue: encodeKv writes the layout of kv-codec.ts exactly (its 64-bit
// fields through numbers when they are safe, through BigInt otherwise), and what a put reports
// (encodedKv) is what decodeKv reads back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../common/src/prng.js';
import { decodeKv, encodeKv, encodedKv } from '../src/mvcc/kv-codec.js';

/** The layout written with Buffer's BigInt writers (the reference). */
function reference(key: Buffer, create: bigint, version: bigint, lease: bigint, value: Buffer): Buffer {
  const b = Buffer.alloc(28 + key.length + value.length);
  b.writeUInt32BE(key.length, 0);
  key.copy(b, 4);
  const o = 4 + key.length;
  b.writeBigUInt64BE(create, o);
  b.writeBigUInt64BE(version, o + 8);
  b.writeBigInt64BE(lease, o + 16);
  value.copy(b, o + 24);
  return b;
}

test('encodeKv writes the reference layout for 64-bit values of every size; decodeKv and encodedKv agree', () => {
  const r = mulberry32(99);
  const u64 = (): bigint => {
    switch (Math.floor(r() * 5)) {
      case 0: return 0n;
      case 1: return BigInt(Math.floor(r() * 1e6));
      case 2: return BigInt(Number.MAX_SAFE_INTEGER) + BigInt(Math.floor(r() * 3)) - 1n;
      case 3: return BigInt(Math.floor(r() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(r() * 2 ** 32));
      default: return 2n ** 64n - 1n;
    }
  };
  for (let i = 0; i < 5000; i++) {
    const key = Buffer.from(Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 256)));
    const value = Buffer.from(Array.from({ length: Math.floor(r() * 50) }, () => Math.floor(r() * 256)));
    const create = u64();
    const version = u64();
    const lease = BigInt.asIntN(64, u64());
    const enc = encodeKv(key, create, version, lease, value);
    assert.deepEqual(enc, reference(key, create, version, lease, value));
    const mod = u64();
    const want = { key, createRevision: create, modRevision: mod, version, value, lease };
    assert.deepEqual({ ...decodeKv(enc, mod) }, want);
    assert.deepEqual({ ...encodedKv(enc, key.length, create, mod, version, lease) }, want);
  }
});
