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
import type { AuthStore } from '../auth/auth-store.js';
import { majorMinor, type RaftCluster } from '../membership/raft-cluster.js';
import type { ServerLogger } from './config.js';
import type { Message } from '@tsetcd/raft';
import { idToHex } from '@tsetcd/common';

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

/** What a database snapshot replaces and rebuilds. */
export interface SnapshotTargets {
  store: MvccStore;
  lessor: Lessor;
  auth: AuthStore;
  hub: WatchHub;
  cluster: RaftCluster;
  log: ServerLogger;
}

/** Received snapshot databases: staged as they arrive, installed when raft hands the snapshot out. */
export class SnapshotInstaller {
  /** staged databases by snapshot index (a newer one may arrive before raft hands out the older) */
  private readonly staged = new Map<number, string>();

  constructor(private readonly t: SnapshotTargets) {}

  /** Stages the database of MsgSnap `m` (received into `file`) unless the member is past it. */
  async stage(m: Message, file: string, applied: number): Promise<void> {
    const idx = m.snapshot?.metadata.index ?? 0;
    // A second send of a snapshot already staged (the leader retried) keeps the first database:
    // replacing it would leave a moment with none staged, and raft may hand the snapshot out then.
    if (idx <= applied || this.staged.has(idx)) return;
    this.staged.set(idx, await stageSnapshotDb(file, idx));
    this.t.log.info('received database snapshot', { 'remote-peer-id': idToHex(m.from), 'incoming-snapshot-index': idx });
  }

  /** Installs the database of the snapshot at `idx`; returns its consistent index. */
  async install(idx: number, applied: number): Promise<number> {
    const { store, lessor, auth, hub, cluster, log } = this.t;
    const dir = this.staged.get(idx);
    if (dir === undefined) throw new Error(`etcdserver: raft snapshot at index ${idx} arrived without its database`);
    // this one and older ones are done with
    for (const [i, d] of this.staged) {
      if (i > idx) continue;
      this.staged.delete(i);
      if (d !== dir) await rm(d, { recursive: true, force: true }).catch(() => undefined);
    }
    log.info('applying snapshot', { 'local-member-id': idToHex(cluster.localId), 'incoming-snapshot-index': idx, 'local-member-applied-index': applied });
    const ci = await replaceBackendContent(store.backend, dir);
    await reloadStore(store);
    reloadLessor(lessor, store);
    auth.recover();
    resetWatchRing(hub);
    cluster.recover(store.backend);
    // etcd's RaftCluster.Recover: the version the snapshot carries enables its capabilities (a
    // member that joined through a snapshot says so here; etcd's e2e waits for this line)
    if (cluster.version !== undefined) {
      log.info('set cluster version from store', { 'cluster-version': majorMinor(cluster.version) });
      log.info('enabled capabilities for version', { 'cluster-version': majorMinor(cluster.version) });
    }
    log.info('applied snapshot', { 'local-member-id': idToHex(cluster.localId), 'applied-index': idx, 'backend-consistent-index': ci });
    return ci;
  }
}
