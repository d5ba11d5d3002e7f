import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyEntryData, copyEntryDataToBuffer, decodeEntry, encodeEntry, EntryType } from '../src/index.js';

test('entry data is copied back to back into shared slabs, not into the Buffer pool', () => {
  const a = copyEntryData(new Uint8Array([1, 2, 3]));
  const b = copyEntryDataToBuffer(Buffer.from([4, 5]));
  assert.deepEqual(a, new Uint8Array([1, 2, 3]));
  assert.ok(Buffer.isBuffer(b));
  assert.deepEqual([...b], [4, 5]);
  // the same slab, next to each other, and not Node's 8 KiB pool
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + 3);
  assert.notEqual(a.buffer, Buffer.allocUnsafe(1).buffer);
  assert.ok(a.buffer.byteLength >= 64 * 1024);
});

test('big entry data gets an allocation of its own; copies never alias their source', () => {
  const src = new Uint8Array(100 * 1024).fill(7);
  const big = copyEntryData(src);
  assert.equal(big.buffer.byteLength, src.byteLength);
  const small = new Uint8Array([9, 9]);
  const c = copyEntryData(small);
  small.fill(0);
  assert.deepEqual(c, new Uint8Array([9, 9]));
  // decoded entries (peer messages) land in the slabs too
  const e = decodeEntry(encodeEntry({ term: 1, index: 2, type: EntryType.Normal, data: new Uint8Array([5]) }));
  assert.ok(e.data.buffer.byteLength >= 64 * 1024);
});

test('copyEntryDataToBuffer copies the first `length` bytes of a longer source (a reused encode buffer)', () => {
  const scratch = Buffer.from([1, 2, 3, 4, 5, 6]);
  const a = copyEntryDataToBuffer(scratch, 4);
  const b = copyEntryDataToBuffer(new Uint8Array([7, 8, 9]), 2);
  scratch.fill(0);
  assert.deepEqual([...a], [1, 2, 3, 4]);
  assert.deepEqual([...b], [7, 8]);
  assert.equal(b.byteOffset, a.byteOffset + 4);
});
