// Decodes the key bucket's entries in place for the index rebuild (Backend.scanCommitted): of
// each entry only what the index needs — revision, tombstone mark, user key, lease — read
// straight from LMDB's buffers, with no Buffer per key or value (at 1M keys the Buffers alone
// cost seconds of allocation and garbage collection on start-up).

import type { InPlaceDecoder } from '../backend/backend.js';
import { revKeyBytes, tombstoneMark } from './revision.js';

const two32 = 0x1_0000_0000;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

function u32be(b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
}

/** One decoded entry; the decoder reuses one object, so it is valid until the next entry. */
export interface KeyBucketEntry {
  main: number;
  sub: number;
  tombstone: boolean;
  /** the user key as a latin1 string */
  key: string;
  /** 0n for none (and for a tombstone) */
  lease: bigint;
}

const entry: KeyBucketEntry = { main: 0, sub: 0, tombstone: false, key: '', lease: 0n };

export const keyBucketDecoder: InPlaceDecoder<KeyBucketEntry, KeyBucketEntry> = {
  readKey(b, start, end) {
    entry.main = u32be(b, start) * two32 + u32be(b, start + 4);
    entry.sub = u32be(b, start + 8) * two32 + u32be(b, start + 12);
    entry.tombstone = end - start === revKeyBytes + 1 && b[start + revKeyBytes] === tombstoneMark;
    return entry;
  },
  readValue(b, size) {
    const n = u32be(b, 0);
    entry.key = latin1Slice.call(b, 4, 4 + n);
    // keyLen | key | createRevision u64 | version u64 | lease i64 | value (a tombstone: keyLen | key)
    const at = 4 + n + 16;
    if (at + 8 > size || (b[at] | b[at + 1] | b[at + 2] | b[at + 3] | b[at + 4] | b[at + 5] | b[at + 6] | b[at + 7]) === 0) entry.lease = 0n;
    else entry.lease = new DataView(b.buffer, b.byteOffset + at, 8).getBigInt64(0);
    return entry;
  },
};
