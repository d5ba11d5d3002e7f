// Writes a fresh bbolt database file (go.etcd.io/bbolt's on-disk format, as etcd keeps its
// backend and sends its snapshots) from buckets given in full: one transaction's worth of data,
// laid out bottom-up with no free pages.
//
// Layout written here:
//   page 0, 1   meta pages (txid 0 and 1; the one with txid 1 is the current one)
//   page 2      the freelist (empty: every page is in use)
//   3 ..        each non-inline bucket's B+tree (leaves first, then branch levels up to its
//               root), then the root bucket's tree, whose leaf elements are the bucket names
//               flagged as buckets with their 16-byte headers {root pgid, sequence} as values.
// A bucket small enough (bbolt's inlineable: page header + elements + data <= pageSize/4) is
// stored inline: header with root 0, followed by its leaf page image.
// A node larger than one page spans consecutive pages (header `overflow` = extra pages).
// All integers are little-endian (bbolt uses the host order; etcd runs on little-endian hosts).

import {
  BoltPageFlag,
  boltBucketHeaderBytes,
  boltBucketLeafFlag,
  boltElementBytes,
  boltMagic,
  boltMetaBytes,
  boltMetaChecksumOffsetBytes as metaChecksumOffsetBytes,
  boltPageHeaderBytes,
  boltPageSizeBytes,
  boltVersion,
  fnv64a,
} from '@tsetcd/common';

const maxElementsPerPage = 0xffff;
const freelistPgid = 2n;
const firstDataPgid = 3n;

export class BoltWriteError extends Error {
  readonly code = 'BOLT_WRITE';
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new BoltWriteError(`bolt writer invariant violated: ${msg}`);
}

export interface BoltBucket {
  name: Buffer;
  /** key/value pairs in strictly increasing key order (bytewise) */
  entries: Array<[Buffer, Buffer]>;
}

interface LeafItem {
  key: Buffer;
  value: Buffer;
  flags: number;
}

interface BranchItem {
  key: Buffer;
  pgid: bigint;
}

function leafItemBytes(i: LeafItem): number {
  return boltElementBytes + i.key.length + i.value.length;
}

function branchItemBytes(i: BranchItem): number {
  return boltElementBytes + i.key.length;
}

/** A leaf page image of `items` (header id `pgid`, padded to whole pages unless `exact`). */
function leafImage(items: LeafItem[], pgid: bigint, pageSize: number, exact: boolean): Buffer {
  assert(items.length <= maxElementsPerPage, 'too many elements for one page');
  let size = boltPageHeaderBytes;
  for (const i of items) size += leafItemBytes(i);
  const pages = Math.max(1, Math.ceil(size / pageSize));
  const b = Buffer.alloc(exact ? size : pages * pageSize);
  b.writeBigUInt64LE(pgid, 0);
  b.writeUInt16LE(BoltPageFlag.leaf, 8);
  b.writeUInt16LE(items.length, 10);
  b.writeUInt32LE(exact ? 0 : pages - 1, 12);
  let data = boltPageHeaderBytes + items.length * boltElementBytes;
  items.forEach((it, n) => {
    const e = boltPageHeaderBytes + n * boltElementBytes;
    b.writeUInt32LE(it.flags, e);
    b.writeUInt32LE(data - e, e + 4);
    b.writeUInt32LE(it.key.length, e + 8);
    b.writeUInt32LE(it.value.length, e + 12);
    data += it.key.copy(b, data);
    data += it.value.copy(b, data);
  });
  return b;
}

function branchImage(items: BranchItem[], pgid: bigint, pageSize: number): Buffer {
  assert(items.length <= maxElementsPerPage, 'too many elements for one page');
  let size = boltPageHeaderBytes;
  for (const i of items) size += branchItemBytes(i);
  const pages = Math.max(1, Math.ceil(size / pageSize));
  const b = Buffer.alloc(pages * pageSize);
  b.writeBigUInt64LE(pgid, 0);
  b.writeUInt16LE(BoltPageFlag.branch, 8);
  b.writeUInt16LE(items.length, 10);
  b.writeUInt32LE(pages - 1, 12);
  let data = boltPageHeaderBytes + items.length * boltElementBytes;
  items.forEach((it, n) => {
    const e = boltPageHeaderBytes + n * boltElementBytes;
    b.writeUInt32LE(data - e, e);
    b.writeUInt32LE(it.key.length, e + 4);
    b.writeBigUInt64LE(it.pgid, e + 8);
    data += it.key.copy(b, data);
  });
  return b;
}

/** Splits items into page-sized groups (a single oversized item gets a group of its own). */
function pack<T>(items: T[], bytesOf: (i: T) => number, pageSize: number): T[][] {
  const groups: T[][] = [];
  let cur: T[] = [];
  let size = boltPageHeaderBytes;
  for (const it of items) {
    const n = bytesOf(it);
    if (cur.length > 0 && (size + n > pageSize || cur.length === maxElementsPerPage)) {
      groups.push(cur);
      cur = [];
      size = boltPageHeaderBytes;
    }
    cur.push(it);
    size += n;
  }
  groups.push(cur);
  return groups;
}

/** Accumulates page images in page id order. */
class PageSink {
  readonly images: Buffer[] = [];
  next = firstDataPgid;

  constructor(readonly pageSize: number) {}

  add(make: (pgid: bigint) => Buffer): bigint {
    const pgid = this.next;
    const img = make(pgid);
    assert(img.length % this.pageSize === 0 && img.length > 0, 'page image not page aligned');
    this.images.push(img);
    this.next += BigInt(img.length / this.pageSize);
    return pgid;
  }
}

/** Writes the B+tree of `items` (sorted); returns its root page id. */
function writeTree(sink: PageSink, items: LeafItem[]): bigint {
  const ps = sink.pageSize;
  let level: BranchItem[] = pack(items, leafItemBytes, ps).map((g) => ({
    key: g.length > 0 ? g[0].key : Buffer.alloc(0),
    pgid: sink.add((id) => leafImage(g, id, ps, false)),
  }));
  while (level.length > 1) {
    level = pack(level, branchItemBytes, ps).map((g) => ({ key: g[0].key, pgid: sink.add((id) => branchImage(g, id, ps)) }));
  }
  return level[0].pgid;
}

function bucketHeader(root: bigint, sequence = 0n): Buffer {
  const b = Buffer.alloc(boltBucketHeaderBytes);
  b.writeBigUInt64LE(root, 0);
  b.writeBigUInt64LE(sequence, 8);
  return b;
}

function checkSorted(name: string, items: LeafItem[]): void {
  for (let i = 1; i < items.length; i++) {
    assert(Buffer.compare(items[i - 1].key, items[i].key) < 0, `keys of bucket ${name} not strictly increasing at ${i}`);
  }
}

function metaImage(pgid: bigint, txid: bigint, rootPgid: bigint, highWater: bigint, pageSize: number): Buffer {
  const b = Buffer.alloc(pageSize);
  b.writeBigUInt64LE(pgid, 0);
  b.writeUInt16LE(BoltPageFlag.meta, 8);
  const m = boltPageHeaderBytes;
  b.writeUInt32LE(boltMagic, m);
  b.writeUInt32LE(boltVersion, m + 4);
  b.writeUInt32LE(pageSize, m + 8);
  b.writeUInt32LE(0, m + 12); // flags
  b.writeBigUInt64LE(rootPgid, m + 16);
  b.writeBigUInt64LE(0n, m + 24); // root bucket sequence
  b.writeBigUInt64LE(freelistPgid, m + 32);
  b.writeBigUInt64LE(highWater, m + 40);
  b.writeBigUInt64LE(txid, m + 48);
  b.writeBigUInt64LE(fnv64a(b.subarray(m, m + metaChecksumOffsetBytes)), m + metaChecksumOffsetBytes);
  return b;
}

/**
 * The pages of a bbolt file holding `buckets` (top-level buckets, any order; their entries sorted).
 * Concatenated, the returned buffers are the file; its size is the high-water page id times the
 * page size (bbolt's tx.Size()).
 */
export function writeBolt(buckets: BoltBucket[], pageSize = boltPageSizeBytes): Buffer[] {
  assert(pageSize >= 1024 && (pageSize & (pageSize - 1)) === 0, 'page size must be a power of two >= 1024');
  const sink = new PageSink(pageSize);
  const sorted = [...buckets].sort((a, b) => Buffer.compare(a.name, b.name));
  const rootItems: LeafItem[] = [];
  for (const bk of sorted) {
    const items: LeafItem[] = bk.entries.map(([key, value]) => ({ key, value, flags: 0 }));
    checkSorted(bk.name.toString('latin1'), items);
    let inlineBytes = boltPageHeaderBytes;
    for (const it of items) inlineBytes += leafItemBytes(it);
    let value: Buffer;
    if (inlineBytes <= pageSize / 4) {
      value = Buffer.concat([bucketHeader(0n), leafImage(items, 0n, pageSize, true)]);
    } else {
      value = bucketHeader(writeTree(sink, items));
    }
    rootItems.push({ key: bk.name, value, flags: boltBucketLeafFlag });
  }
  checkSorted('(root)', rootItems);
  const rootPgid = writeTree(sink, rootItems);
  const highWater = sink.next;
  const freelist = Buffer.alloc(pageSize);
  freelist.writeBigUInt64LE(freelistPgid, 0);
  freelist.writeUInt16LE(BoltPageFlag.freelist, 8);
  return [metaImage(0n, 0n, rootPgid, highWater, pageSize), metaImage(1n, 1n, rootPgid, highWater, pageSize), freelist, ...sink.images];
}
