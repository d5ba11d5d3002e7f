// Reads a bbolt database file held in memory: the current meta page (valid magic, version and
// FNV-64a checksum; the higher txid of the two wins, as bbolt does), then buckets and their
// key/values in key order (inline buckets included). Every offset is checked against the file,
// so a damaged or hostile file ends in BoltReadError, never a crash or a hang.

import {
  BoltPageFlag,
  boltBucketHeaderBytes,
  boltBucketLeafFlag,
  boltElementBytes,
  boltMagic,
  boltMetaChecksumOffsetBytes,
  boltPageHeaderBytes,
  boltVersion,
  fnv64a,
} from './bolt-format.js';

export class BoltReadError extends Error {
  readonly code = 'BOLT_READ';
  constructor(message: string) {
    super(message);
    this.name = 'BoltReadError';
  }
}

export interface BoltMeta {
  pageSize: number;
  rootPgid: bigint;
  freelistPgid: bigint;
  /** high-water page id: the file's used size is highWaterPgid * pageSize */
  highWaterPgid: bigint;
  txid: bigint;
}

export interface BoltEntry {
  key: Buffer;
  /** for a bucket: its header (root pgid, sequence, and an inline page when root is 0) */
  value: Buffer;
  isBucket: boolean;
}

const metaReadBytes = 64;
const maxTreeDepth = 64;

/** True if `b` starts like a bbolt file (meta page 0 magic). */
export function looksLikeBolt(b: Buffer): boolean {
  return b.length >= boltPageHeaderBytes + metaReadBytes && b.readUInt32LE(boltPageHeaderBytes) === boltMagic;
}

export class BoltReader {
  readonly meta: BoltMeta;

  /** The file's bytes; entries are views into this buffer (writing a value changes the file image). */
  constructor(private readonly buf: Buffer) {
    const m0 = this.readMeta(0);
    // page 1 sits one page in: take the page size from meta 0 if it is valid, else try the default
    const m1 = this.readMeta(m0?.pageSize ?? 4096);
    const valid = [m0, m1].filter((m): m is BoltMeta => m !== undefined);
    if (valid.length === 0) throw new BoltReadError('invalid database');
    valid.sort((a, b) => (a.txid > b.txid ? -1 : 1));
    this.meta = valid[0];
  }

  /** tx.Size(): the high-water page id times the page size. */
  get size(): bigint {
    return this.meta.highWaterPgid * BigInt(this.meta.pageSize);
  }

  private readMeta(off: number): BoltMeta | undefined {
    const m = off + boltPageHeaderBytes;
    if (m + metaReadBytes > this.buf.length) return undefined;
    if (this.buf.readUInt32LE(m) !== boltMagic || this.buf.readUInt32LE(m + 4) !== boltVersion) return undefined;
    const sum = fnv64a(this.buf.subarray(m, m + boltMetaChecksumOffsetBytes));
    if (sum !== this.buf.readBigUInt64LE(m + boltMetaChecksumOffsetBytes)) return undefined;
    const pageSize = this.buf.readUInt32LE(m + 8);
    if (pageSize < boltPageHeaderBytes + boltElementBytes) return undefined;
    return {
      pageSize,
      rootPgid: this.buf.readBigUInt64LE(m + 16),
      freelistPgid: this.buf.readBigUInt64LE(m + 32),
      highWaterPgid: this.buf.readBigUInt64LE(m + 40),
      txid: this.buf.readBigUInt64LE(m + 48),
    };
  }

  private pageOffset(pgid: bigint): number {
    if (pgid < 2n || pgid >= this.meta.highWaterPgid) throw new BoltReadError(`page ${pgid} out of range`);
    const off = Number(pgid) * this.meta.pageSize;
    if (off + boltPageHeaderBytes > this.buf.length) throw new BoltReadError(`page ${pgid} beyond the end of the file`);
    return off;
  }

  /** In-order leaf elements under the node at byte offset `off`. */
  private *walk(off: number, depth: number): Generator<BoltEntry> {
    if (depth > maxTreeDepth) throw new BoltReadError('tree too deep');
    const b = this.buf;
    if (off + boltPageHeaderBytes > b.length) throw new BoltReadError(`node beyond the end of the file at ${off}`);
    const flags = b.readUInt16LE(off + 8);
    const count = b.readUInt16LE(off + 10);
    const elems = off + boltPageHeaderBytes;
    if (elems + count * boltElementBytes > b.length) throw new BoltReadError(`elements beyond the end of the file at ${off}`);
    if (flags & BoltPageFlag.branch) {
      for (let i = 0; i < count; i++) yield* this.walk(this.pageOffset(b.readBigUInt64LE(elems + i * boltElementBytes + 8)), depth + 1);
    } else if (flags & BoltPageFlag.leaf) {
      for (let i = 0; i < count; i++) {
        const e = elems + i * boltElementBytes;
        const k = e + b.readUInt32LE(e + 4);
        const ksize = b.readUInt32LE(e + 8);
        const vsize = b.readUInt32LE(e + 12);
        if (k + ksize + vsize > b.length) throw new BoltReadError(`element beyond the end of the file at ${off}`);
        yield { key: b.subarray(k, k + ksize), value: b.subarray(k + ksize, k + ksize + vsize), isBucket: (b.readUInt32LE(e) & boltBucketLeafFlag) !== 0 };
      }
    } else throw new BoltReadError(`unexpected page flags ${flags} at offset ${off}`);
  }

  /** Entries of the root bucket: the top-level bucket names with their headers. */
  rootEntries(): Generator<BoltEntry> {
    return this.walk(this.pageOffset(this.meta.rootPgid), 0);
  }

  /** Entries of a bucket, given its header (the value of its entry in the parent). */
  bucketEntries(header: Buffer): Generator<BoltEntry> {
    if (header.length < boltBucketHeaderBytes) throw new BoltReadError('short bucket header');
    const root = header.readBigUInt64LE(0);
    if (root !== 0n) return this.walk(this.pageOffset(root), 0);
    return this.walk(header.byteOffset - this.buf.byteOffset + boltBucketHeaderBytes, 0);
  }

  /** Names of the top-level buckets, in order. */
  bucketNames(): string[] {
    return this.buckets().map((b) => b.name);
  }

  /** Top-level buckets with their key/values (views into the file buffer); nested buckets are left out (etcd has none). */
  buckets(): Array<{ name: string; entries: Array<[Buffer, Buffer]> }> {
    const out: Array<{ name: string; entries: Array<[Buffer, Buffer]> }> = [];
    for (const e of this.rootEntries()) {
      if (!e.isBucket) throw new BoltReadError(`root entry ${e.key.toString('latin1')} is not a bucket`);
      const entries: Array<[Buffer, Buffer]> = [];
      for (const kv of this.bucketEntries(e.value)) if (!kv.isBucket) entries.push([kv.key, kv.value]);
      out.push({ name: e.key.toString('latin1'), entries });
    }
    return out;
  }
}
