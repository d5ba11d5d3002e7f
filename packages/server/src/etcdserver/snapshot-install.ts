// Installing a database snapshot received from the leader (etcd's applySnapshot): the live
// backend's buckets are replaced by the snapshot's, in place, so every component keeps its
// Backend/MvccStore/Lessor objects; then the in-memory state derived from the backend (MVCC key
// index, leases) is rebuilt from it.

import { mkdir, rename, rm } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { Backend, Buckets } from '../backend/backend.js';
import type { MvccStore } from '../mvcc/store.js';
import type { Lessor } from '../lease/lessor.js';
import { decodeLeaseRecord, noLease } from '../lease/lessor.js';
import type { WatchHub } from '../watch/watch-hub.js';

/** Rows copied per staged batch while replacing a bucket. */
export const installBatchRows = 10_000;

/**
 * Moves the received database file aside for install (the transport deletes its temporary).
 * Returns the directory now holding it as data.mdb.
 */
export async function stageSnapshotDb(file: string, index: number): Promise<string> {
  const dir = join(dirname(file), `install-${index}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  await rename(file, join(dir, 'data.mdb'));
  return dir;
}

/**
 * Replaces every bucket of `live` by the content of the database in `stagedDir`, commits, and
 * returns the snapshot's consistent index. The staged directory is removed.
 */
export async function replaceBackendContent(live: Backend, stagedDir: string): Promise<number> {
  const src = Backend.open({ path: stagedDir });
  try {
    const names = new Set([...live.bucketNames(), ...src.bucketNames()]);
    for (const b of names) {
      if (b === '') continue;
      for (const [k] of live.range(b)) live.delete(b, k);
      for (const [k, v] of src.range(b)) live.put(b, k, v);
      live.commitSync();
    }
    const ci = src.consistentIndex();
    live.setConsistentIndex(ci);
    live.commitSync();
    return ci;
  } finally {
    await src.close();
    await rm(stagedDir, { recursive: true, force: true });
  }
}

/**
 * Rebuilds the MVCC key index and revisions from the (replaced) backend. MvccStore has no
 * public reload yet; its constructor-time restore is reused.
 */
export function reloadStore(store: MvccStore): Promise<void> {
  const s = store as unknown as { restore(): Promise<void>; currentRev: number };
  s.currentRev = 0;
  return s.restore();
}

/** Leases as the backend holds them, keys re-attached. */
export function reloadLessor(lessor: Lessor, store: MvccStore): void {
  (lessor as unknown as { leases: Map<bigint, unknown> }).leases.clear();
  for (const [, v] of store.backend.rangeAux(Buckets.lease)) lessor.restore(decodeLeaseRecord(v));
  const all = store.range(Buffer.of(0), { rangeEnd: Buffer.of(0) });
  for (const kv of all.kvs) if (kv.lease !== noLease && lessor.lookup(kv.lease)) lessor.attach(kv.lease, kv.key);
}

/**
 * Watchers must not be served from the in-memory ring across an installed snapshot (the
 * revisions in between never went through it): empty it, so they catch up from MVCC history.
 */
export function resetWatchRing(hub: WatchHub): void {
  const h = hub as unknown as { ring: unknown[]; ringEvents: number; ringBytes: number };
  h.ring = [];
  h.ringEvents = 0;
  h.ringBytes = 0;
  hub.schedulePump();
}
