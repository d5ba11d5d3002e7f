// A read-only reader of bbolt files (etcd's backend and snapshot format), enough for
// `snapshot status`: walk the root bucket and every bucket's key/values in key order.
//
// Layout (bbolt): pages of `pageSize` bytes; page header = id u64, flags u16, count u16,
// overflow u32. Pages 0 and 1 are meta pages (magic, version, pageSize, flags, root bucket
// {root pgid, sequence}, freelist, high-water pgid, txid, checksum); the newest valid one wins.
// Branch elements: pos u32, ksize u32, pgid u64. Leaf elements: flags u32, pos u32, ksize u32,
// vsize u32 (pos is relative to the element). A leaf value flagged 0x01 is a bucket header
// {root pgid u64, sequence u64}; root 0 means an inline page follows the header.

import { readFileSync } from 'node:fs';
import { crc32c } from '@tsetcd/common';

const pageHeaderBytes = 16;
const elementBytes = 16;
const boltMagic = 0xed0cdaed;
const branchPageFlag = 0x01;
const leafPageFlag = 0x02;
const bucketLeafFlag = 0x01;

export class BoltError extends Error {
  readonly code = 'BOLT_INVALID';
}

interface Meta {
  pageSize: number;
  rootPgid: bigint;
  pgid: bigint;
  txid: bigint;
}

export interface BoltEntry {
  key: Buffer;
  value: Buffer;
  isBucket: boolean;
}

export class BoltFile {
  readonly meta: Meta;

  constructor(private readonly buf: Buffer) {
    if (buf.length < 2 * pageHeaderBytes + 64) throw new BoltError('file size too small');
    const m0 = this.readMeta(0);
    const m1 = m0 ? this.readMeta(m0.pageSize) : this.readMeta(4096);
    const metas = [m0, m1].filter((m): m is Meta => m !== undefined);
    if (metas.length === 0) throw new BoltError('invalid database');
    metas.sort((a, b) => (a.txid > b.txid ? -1 : 1));
    this.meta = metas[0];
  }

  private readMeta(offset: number): Meta | undefined {
    if (offset + pageHeaderBytes + 64 > this.buf.length) return undefined;
    const o = offset + pageHeaderBytes;
    if (this.buf.readUInt32LE(o) !== boltMagic) return undefined;
    return {
      pageSize: this.buf.readUInt32LE(o + 8),
      rootPgid: this.buf.readBigUInt64LE(o + 16),
      pgid: this.buf.readBigUInt64LE(o + 40),
      txid: this.buf.readBigUInt64LE(o + 48),
    };
  }

  /** tx.Size(): the high-water page id times the page size. */
  get size(): bigint {
    return this.meta.pgid * BigInt(this.meta.pageSize);
  }

  private page(pgid: bigint): number {
    const off = Number(pgid) * this.meta.pageSize;
    if (off + pageHeaderBytes > this.buf.length) throw new BoltError(`page ${pgid} out of range`);
    return off;
  }

  /** In-order entries of the B+tree rooted at the page at byte offset `off`. */
  private *walk(off: number): Generator<BoltEntry> {
    const flags = this.buf.readUInt16LE(off + 8);
    const count = this.buf.readUInt16LE(off + 10);
    const base = off + pageHeaderBytes;
    if (flags & branchPageFlag) {
      for (let i = 0; i < count; i++) {
        const e = base + i * elementBytes;
        const pgid = this.buf.readBigUInt64LE(e + 8);
        yield* this.walk(this.page(pgid));
      }
    } else if (flags & leafPageFlag) {
      for (let i = 0; i < count; i++) {
        const e = base + i * elementBytes;
        const eflags = this.buf.readUInt32LE(e);
        const pos = this.buf.readUInt32LE(e + 4);
        const ksize = this.buf.readUInt32LE(e + 8);
        const vsize = this.buf.readUInt32LE(e + 12);
        const k = e + pos;
        yield { key: this.buf.subarray(k, k + ksize), value: this.buf.subarray(k + ksize, k + ksize + vsize), isBucket: (eflags & bucketLeafFlag) !== 0 };
      }
    } else throw new BoltError(`unexpected page type ${flags} at offset ${off}`);
  }

  /** Entries of the root bucket (bucket names and their headers). */
  rootEntries(): Generator<BoltEntry> {
    return this.walk(this.page(this.meta.rootPgid));
  }

  /** Entries of a bucket, given its header value from the parent. */
  bucketEntries(header: Buffer): Generator<BoltEntry> {
    const root = header.readBigUInt64LE(0);
    if (root === 0n) {
      const inlineOff = header.byteOffset - this.buf.byteOffset + 16;
      return this.walk(inlineOff);
    }
    return this.walk(this.page(root));
  }
}

export interface BoltStatus {
  hash: number;
  revision: bigint;
  totalKey: number;
  totalSize: bigint;
}

/** etcd's snapshot status: crc32c over bucket names and key/values, key count, last revision. */
export function readBoltStatus(path: string): BoltStatus {
  const file = new BoltFile(readFileSync(path));
  let hash = 0;
  const h = { update: (b: Uint8Array) => (hash = crc32c(b, hash)) };
  let revision = 0n;
  let totalKey = 0;
  for (const b of file.rootEntries()) {
    if (!b.isBucket) throw new BoltError(`cannot get hash of bucket ${b.key.toString('latin1')}`);
    h.update(b.key);
    const isKeyBucket = b.key.toString('latin1') === 'key';
    for (const kv of file.bucketEntries(b.value)) {
      h.update(kv.key);
      h.update(kv.value);
      if (isKeyBucket) revision = kv.key.readBigInt64BE(0);
      totalKey++;
    }
  }
  return { hash, revision, totalKey, totalSize: file.size };
}
