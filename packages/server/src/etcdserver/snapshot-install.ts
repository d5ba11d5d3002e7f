// Installing a database snapshot received from the leader (etcd's applySnapshot): the MVCC key
// index is rebuilt from the received database in slices of the event loop, then the database is
// swapped in under the live backend (every component keeps its Backend/MvccStore/Lessor
// objects) together with the new index; leases, auth and membership are reloaded from it.

import { mkdir, rename, rm } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { Backend, Buckets } from '../backend/backend.js';
import type { MvccStore } from '../mvcc/store.js';
import type { Lessor } from '../lease/lessor.js';
import { decodeLeaseRecord } from '../lease/lessor.js';
import type { WatchHub } from '../watch/watch-hub.js';
import type { AuthStore } from '../auth/auth-store.js';
import { majorMinor, type RaftCluster } from '../membership/raft-cluster.js';
import type { ServerLogger } from './config.js';
import type { Message } from '@tsetcd/raft';
import { idToHex } from '@tsetcd/common';

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
 * Replaces the store's database by the one in `stagedDir` and rebuilds the key index from it (in
 * slices of the event loop; the member serves reads from its current state meanwhile, and the
 * new database and index take over together). Returns the snapshot's consistent index. The
 * staged directory is removed.
 */
export async function replaceStoreContent(store: MvccStore, stagedDir: string): Promise<number> {
  const src = Backend.open({ path: stagedDir });
  let srcOpen = true;
  try {
    await store.reloadFrom(src, async () => {
      srcOpen = false;
      await src.close();
      await store.backend.replaceWith(join(stagedDir, 'data.mdb'));
    });
    return store.backend.consistentIndex();
  } finally {
    if (srcOpen) await src.close().catch(() => undefined);
    await rm(stagedDir, { recursive: true, force: true });
  }
}

/** Leases as the backend holds them, keys re-attached (as the store's rebuild just found them). */
export function reloadLessor(lessor: Lessor, store: MvccStore): void {
  (lessor as unknown as { leases: Map<bigint, unknown> }).leases.clear();
  for (const [, v] of store.backend.rangeAux(Buckets.lease)) lessor.restore(decodeLeaseRecord(v));
  for (const { key, lease } of store.takeRestoredLeasedKeys()) if (lessor.lookup(lease)) lessor.attach(lease, key);
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
    const ci = await replaceStoreContent(store, dir);
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
