// Writes a fresh bbolt database file (go.etcd.io/bbolt's on-disk format, as etcd keeps its
// backend and sends its snapshots): one transaction's worth of data, laid out bottom-up with no
// free pages, produced as a stream of pages while the entries come in (BoltStreamWriter) or all
// at once from buckets given in full (writeBolt).
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

function bucketHeader(root: bigint, sequence = 0n): Buffer {
  const b = Buffer.alloc(boltBucketHeaderBytes);
  b.writeBigUInt64LE(root, 0);
  b.writeBigUInt64LE(sequence, 8);
  return b;
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

/** Hands out page ids in order and passes each page image on. */
class PageSink {
  next = firstDataPgid;

  constructor(
    readonly pageSize: number,
    private readonly emit: (image: Buffer) => void,
  ) {}

  add(make: (pgid: bigint) => Buffer): bigint {
    const pgid = this.next;
    const img = make(pgid);
    assert(img.length % this.pageSize === 0 && img.length > 0, 'page image not page aligned');
    this.emit(img);
    this.next += BigInt(img.length / this.pageSize);
    return pgid;
  }
}

/**
 * Builds the B+tree of one sorted sequence of items bottom-up: leaves are emitted as they fill,
 * branch levels once the last item is in (only their first keys are kept until then).
 */
class TreeBuilder {
  private cur: LeafItem[] = [];
  private curBytes = boltPageHeaderBytes;
  private readonly leaves: BranchItem[] = [];

  constructor(private readonly sink: PageSink) {}

  add(it: LeafItem): void {
    const n = leafItemBytes(it);
    if (this.cur.length > 0 && (this.curBytes + n > this.sink.pageSize || this.cur.length === maxElementsPerPage)) this.flushLeaf();
    this.cur.push(it);
    this.curBytes += n;
  }

  private flushLeaf(): void {
    const items = this.cur;
    const ps = this.sink.pageSize;
    this.leaves.push({ key: items.length > 0 ? Buffer.from(items[0].key) : Buffer.alloc(0), pgid: this.sink.add((id) => leafImage(items, id, ps, false)) });
    this.cur = [];
    this.curBytes = boltPageHeaderBytes;
  }

  /** Writes the last leaf and the branch levels; returns the root page id. */
  finish(): bigint {
    const steps = this.finishSteps();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /** finish() one branch page per step (a big bucket has thousands of them). */
  *finishSteps(): Generator<void, bigint> {
    this.flushLeaf();
    const ps = this.sink.pageSize;
    let level = this.leaves;
    while (level.length > 1) {
      const next: BranchItem[] = [];
      let group: BranchItem[] = [];
      let size = boltPageHeaderBytes;
      const flush = (): void => {
        const g = group;
        next.push({ key: g[0].key, pgid: this.sink.add((id) => branchImage(g, id, ps)) });
        group = [];
        size = boltPageHeaderBytes;
      };
      for (const it of level) {
        const n = branchItemBytes(it);
        if (group.length > 0 && (size + n > ps || group.length === maxElementsPerPage)) {
          flush();
          yield;
        }
        group.push(it);
        size += n;
      }
      flush();
      level = next;
    }
    return level[0].pgid;
  }
}

/**
 * Writes a bbolt file as a stream of page images, one bucket after another, without holding
 * the data: `emit` receives the pages from page 3 on, in page order (each a whole number of
 * pages); finish() returns the first three pages (the meta pages and the freelist), which
 * belong at the start of the file and can only be written once everything else is known.
 * Buckets come in increasing name order, each bucket's keys strictly increasing.
 */
export class BoltStreamWriter {
  private readonly sink: PageSink;
  private readonly rootItems: LeafItem[] = [];
  private name: Buffer | undefined;
  private lastKey: Buffer | undefined;
  /** items of the current bucket while it may still be stored inline */
  private small: LeafItem[] | undefined;
  private smallBytes = 0;
  private tree: TreeBuilder | undefined;

  constructor(emit: (image: Buffer) => void, readonly pageSize = boltPageSizeBytes) {
    assert(pageSize >= 1024 && (pageSize & (pageSize - 1)) === 0, 'page size must be a power of two >= 1024');
    this.sink = new PageSink(pageSize, emit);
  }

  /** Bytes of the file so far (pages emitted, plus the three leading pages). */
  get bytes(): number {
    return Number(this.sink.next) * this.pageSize;
  }

  beginBucket(name: Buffer): void {
    assert(this.name === undefined, 'bucket begun inside another');
    const prev = this.rootItems.at(-1);
    assert(prev === undefined || Buffer.compare(prev.key, name) < 0, `bucket ${name.toString('latin1')} not in increasing name order`);
    this.name = Buffer.from(name);
    this.lastKey = undefined;
    this.small = [];
    this.smallBytes = boltPageHeaderBytes;
    this.tree = undefined;
  }

  put(key: Buffer, value: Buffer): void {
    assert(this.name !== undefined, 'put outside a bucket');
    assert(this.lastKey === undefined || Buffer.compare(this.lastKey, key) < 0, `keys of bucket ${this.name.toString('latin1')} not strictly increasing`);
    this.lastKey = key;
    const it: LeafItem = { key, value, flags: 0 };
    if (this.small !== undefined) {
      this.small.push(it);
      this.smallBytes += leafItemBytes(it);
      // bbolt inlines a bucket whose leaf fits in a quarter page
      if (this.smallBytes <= this.pageSize / 4) return;
      this.tree = new TreeBuilder(this.sink);
      for (const s of this.small) this.tree.add(s);
      this.small = undefined;
      return;
    }
    this.tree!.add(it);
  }

  endBucket(): void {
    const steps = this.endBucketSteps();
    while (!steps.next().done);
  }

  /** endBucket() in steps: the bucket's branch pages one at a time. */
  *endBucketSteps(): Generator<void, void> {
    assert(this.name !== undefined, 'end of a bucket not begun');
    const value = this.small !== undefined ? Buffer.concat([bucketHeader(0n), leafImage(this.small, 0n, this.pageSize, true)]) : bucketHeader(yield* this.tree!.finishSteps());
    this.rootItems.push({ key: this.name, value, flags: boltBucketLeafFlag });
    this.name = undefined;
    this.small = undefined;
    this.tree = undefined;
  }

  /** Writes the root bucket's tree; returns the meta pages and the freelist (pages 0-2). */
  finish(): Buffer[] {
    assert(this.name === undefined, 'finish inside a bucket');
    const tree = new TreeBuilder(this.sink);
    for (const it of this.rootItems) tree.add(it);
    const rootPgid = tree.finish();
    const highWater = this.sink.next;
    const ps = this.pageSize;
    const freelist = Buffer.alloc(ps);
    freelist.writeBigUInt64LE(freelistPgid, 0);
    freelist.writeUInt16LE(BoltPageFlag.freelist, 8);
    return [metaImage(0n, 0n, rootPgid, highWater, ps), metaImage(1n, 1n, rootPgid, highWater, ps), freelist];
  }
}

/**
 * The pages of a bbolt file holding `buckets` (top-level buckets, any order; their entries sorted).
 * Concatenated, the returned buffers are the file; its size is the high-water page id times the
 * page size (bbolt's tx.Size()).
 */
export function writeBolt(buckets: BoltBucket[], pageSize = boltPageSizeBytes): Buffer[] {
  const pages: Buffer[] = [];
  const w = new BoltStreamWriter((img) => pages.push(img), pageSize);
  for (const bk of [...buckets].sort((a, b) => Buffer.compare(a.name, b.name))) {
    w.beginBucket(bk.name);
    for (const [k, v] of bk.entries) w.put(k, v);
    w.endBucket();
  }
  return [...w.finish(), ...pages];
}
