import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../src/crc32c.js';
import { readU64LE, writeU64LE } from '../src/u64.js';

test('crc32c: the Castagnoli check value, chained through the seed, over a sub-range', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.from('56789'), crc32c(Buffer.from('1234'))), 0xe3069283);
  assert.equal(crc32c(Buffer.from('xx123456789yy'), 0, 2, 11), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  // the 8-byte loop and the byte loop agree at every length
  const data = Buffer.from(Array.from({ length: 37 }, (_, i) => (i * 97 + 13) & 0xff));
  for (let n = 0; n <= data.length; n++) {
    let bytewise = 0;
    for (let i = 0; i < n; i++) bytewise = crc32c(data.subarray(i, i + 1), bytewise);
    assert.equal(crc32c(data, 0, 0, n), bytewise, `length ${n}`);
  }
});

test('u64: safe integers round-trip, little endian; others are refused', () => {
  const b = Buffer.alloc(8);
  writeU64LE(b, 0, Number.MAX_SAFE_INTEGER);
  assert.equal(b.readBigUInt64LE(0), BigInt(Number.MAX_SAFE_INTEGER));
  assert.equal(readU64LE(b, 0), Number.MAX_SAFE_INTEGER);
  writeU64LE(b, 0, 0x1_0000_0001);
  assert.deepEqual([...b], [1, 0, 0, 0, 1, 0, 0, 0]);
  for (const bad of [-1, 1.5, 2 ** 53]) assert.throws(() => writeU64LE(b, 0, bad), RangeError);
  b.writeBigUInt64LE(2n ** 53n);
  assert.throws(() => readU64LE(b, 0), RangeError);
});
