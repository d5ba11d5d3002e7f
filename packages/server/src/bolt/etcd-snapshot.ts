// A point-in-time etcd snapshot of a backend: a bbolt file in etcd 3.4's bucket layout (what
// Maintenance.Snapshot sends). The data is read from a backend read view and written to a
// temporary file in slices of the event loop, never held whole; the file's size is known once it
// is written (etcd's snapshot messages count the bytes remaining), then it is read back in blobs.

import { randomUUID } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend, BackendReadView } from '../backend/backend.js';
import { TurnBudget } from '../loop/turn-budget.js';
import { boltPageSizeBytes } from '@tsetcd/common';
import { BoltStreamWriter } from './bolt-writer.js';
import { visitEtcdLayout } from './etcd-layout.js';

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

/** Writes the buffers one after another from `position` (no copy into one buffer). */
async function writeAllAt(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  let pos = position;
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    // a short write: drop what went out, go on with the remainder
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i].length) bytesWritten -= rest[i++].length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
  }
}

/** Writes the view's buckets in etcd's layout as a bbolt file into fh; returns its size. */
async function writeBuckets(view: BackendReadView, fh: FileHandle): Promise<number> {
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
  const budget = new TurnBudget();
  await visitEtcdLayout(
    view,
    {
      beginBucket: (name) => w.beginBucket(name),
      entry: (k, v) => w.put(k, v),
      // a big bucket's branch levels are written in slices too
      endBucket: async () => {
        for (const _ of w.endBucketSteps()) if (budget.spent()) await budget.next();
      },
      between: async () => {
        if (pendingBytes >= flushBytes) await flush();
      },
    },
    budget,
  );
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
