// A point-in-time etcd snapshot of a backend: a bbolt file in etcd 3.4's bucket layout (what
// Maintenance.Snapshot sends). The data is read from a backend read view and written to a
// temporary file in slices of the event loop, never held whole; the file's size is known once it
// is written (etcd's snapshot messages count the bytes remaining), then it is read back in blobs.

import { randomUUID } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Buckets, type Backend, type BackendReadView } from '../backend/backend.js';
import { TurnBudget } from '../loop/turn-budget.js';
import { boltPageSizeBytes } from '@tsetcd/common';
import { BoltStreamWriter } from './bolt-writer.js';
import { etcdBucketNames, toEtcd } from './etcd-layout.js';

const consistentIndexKey = 'consistent_index';
/** buckets whose conversion adds or renames keys: small, converted whole and re-sorted */
const resortedBuckets = new Set<string>([Buckets.meta, Buckets.alarm]);
const readChunkEntries = 1000;
const flushBytes = 1 << 20;
/** meta pages and the freelist, written last */
const headPages = 3;

export interface EtcdSnapshotFile {
  /** bytes of the bbolt file */
  size: number;
  /** reads up to `length` bytes at `position` (fewer only at the end of the file) */
  read(position: number, length: number): Promise<Buffer>;
  /** closes and removes the file */
  close(): Promise<void>;
}

async function writeAllAt(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let buf = bufs.length === 1 ? bufs[0] : Buffer.concat(bufs);
  let pos = position;
  while (buf.length > 0) {
    const { bytesWritten } = await fh.write(buf, 0, buf.length, pos);
    buf = buf.subarray(bytesWritten);
    pos += bytesWritten;
  }
}

function sortByKey(entries: Array<[Buffer, Buffer]>): Array<[Buffer, Buffer]> {
  return entries.sort((a, b) => Buffer.compare(a[0], b[0]));
}

/** Writes the view's buckets in etcd's layout as a bbolt file into fh; returns its size. */
async function writeBuckets(view: BackendReadView, fh: FileHandle): Promise<number> {
  const budget = new TurnBudget();
  const present = new Set(view.bucketNames());
  const names = [...new Set([...etcdBucketNames, ...present])].map((n) => Buffer.from(n, 'latin1')).sort(Buffer.compare);
  const meta = present.has(Buckets.meta) ? view.range(Buckets.meta) : [];
  // the consistent index committed with the data (0 on a store that never applied an entry)
  const ciEntry = meta.find(([k]) => k.toString('latin1') === consistentIndexKey);
  const ci = ciEntry === undefined ? 0 : Number(ciEntry[1].readBigUInt64BE(0));

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let position = headPages * boltPageSizeBytes;
  const w = new BoltStreamWriter((img) => {
    pending.push(img);
    pendingBytes += img.length;
  });
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const bufs = pending;
    const n = pendingBytes;
    pending = [];
    pendingBytes = 0;
    await writeAllAt(fh, bufs, position);
    position += n;
  };

  for (const nameBuf of names) {
    const name = nameBuf.toString('latin1');
    w.beginBucket(nameBuf);
    if (resortedBuckets.has(name)) {
      const entries = (name === Buckets.meta ? meta : present.has(name) ? view.range(name) : []).map(([k, v]) => toEtcd(name, k, v, ci));
      if (name === Buckets.meta && ciEntry === undefined) entries.push(toEtcd(name, Buffer.from(consistentIndexKey, 'latin1'), Buffer.alloc(8), ci));
      for (const [k, v] of sortByKey(entries)) w.put(k, v);
    } else if (present.has(name)) {
      // conversions of the other buckets keep the key order: stream them
      let from: Buffer | undefined;
      for (;;) {
        const chunk = view.range(name, from, undefined, readChunkEntries);
        for (const [k, v] of chunk) {
          const [ek, ev] = toEtcd(name, k, v, ci);
          w.put(ek, ev);
        }
        if (chunk.length < readChunkEntries) break;
        from = Buffer.concat([chunk[chunk.length - 1][0], Buffer.of(0)]);
        if (pendingBytes >= flushBytes) await flush();
        await budget.pause();
      }
    }
    w.endBucket();
  }
  const head = w.finish();
  await flush();
  await writeAllAt(fh, head, 0);
  return w.bytes;
}

/**
 * Writes the snapshot into a temporary file in `dir` (removed on close; on Linux it has no name
 * once opened, so a crash leaves nothing behind).
 */
export async function createEtcdSnapshot(backend: Backend, dir: string): Promise<EtcdSnapshotFile> {
  const path = join(dir, `snapshot-${randomUUID()}.bolt.tmp`);
  const fh = await open(path, 'w+');
  const remove = (): Promise<void> => rm(path, { force: true }).catch(() => undefined);
  await remove(); // the open handle keeps the data (where the OS lets an open file be removed)
  try {
    const view = await backend.openReadView();
    let size: number;
    try {
      size = await writeBuckets(view, fh);
    } finally {
      view.close();
    }
    return {
      size,
      read: async (position, length) => {
        const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - position)));
        let got = 0;
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
          if (bytesRead === 0) throw new Error(`snapshot file ended at ${position + got} of ${size} bytes`);
          got += bytesRead;
        }
        return buf;
      },
      close: async () => {
        await fh.close();
        await remove();
      },
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    await remove();
    throw e;
  }
}
