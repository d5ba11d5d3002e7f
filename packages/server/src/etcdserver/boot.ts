// Opening a member's raft state (etcd's bootstrap in server.go): restart from the newest snapshot
// the WAL vouches for plus the WAL after it (--force-new-cluster rewrites it to a one-member
// cluster), or create the WAL of a new member — alone, one of a new cluster's initial members, or
// joining a running cluster with an empty log.

import { join } from 'node:path';
import { MemoryStorage, bootstrapEntries, type HardState } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import { computeClusterId, computeMemberId, idToHex } from '@tsetcd/common';
import { Wal } from '../wal/index.js';
import { Snapshotter } from '../snap/index.js';
import { defaults, type ServerConfig } from './config.js';
import type { ClusterBootstrap } from './cluster-bootstrap.js';
import { forceNewClusterEntries } from './force-new-cluster.js';
import type { RaftCluster } from '../membership/raft-cluster.js';
import { decodeWalMetadata, encodeWalMetadata } from './wal-metadata.js';

/** The raft state a member starts from. */
export interface RaftBoot {
  wal: Wal;
  snapshotter: Snapshotter;
  /** raft's log: the snapshot, the WAL's entries and hard state */
  storage: MemoryStorage;
  /** index of the snapshot the state machine starts from (0: none) */
  snapshotIndex: number;
  /** the snapshot's state machine data (the v2 store; empty without a snapshot) */
  snapshotData: Uint8Array;
  commit: number;
  term: number;
}

/** Opens or creates the WAL and snapshots of `cfg`'s data dir; sets the member and cluster IDs of `cluster`. */
export async function bootRaft(cfg: ServerConfig, cluster: RaftCluster, clusterBoot: ClusterBootstrap | undefined): Promise<RaftBoot> {
  const log = cfg.logger;
  const walDir = cfg.walDir ?? join(cfg.dataDir, 'member', 'wal');
  const snapshotter = new Snapshotter(join(cfg.dataDir, 'member', 'snap'), { keep: cfg.maxSnapshots ?? defaults.maxSnapshots, onWarning: (m) => log.warn(m) });
  const storage = new MemoryStorage();
  const createWal = async (): Promise<Wal> => {
    const wal = await Wal.create(walDir, encodeWalMetadata(cluster.localId, cluster.clusterId), { segmentBytes: cfg.walSegmentBytes });
    if (cfg.unsafeNoFsync) wal.setUnsafeNoFsync();
    return wal;
  };
  /** a new member's first entries: the bootstrap ConfChanges, committed */
  const bootstrap = async (wal: Wal, members: tsetcdpb.Member[]): Promise<RaftBoot> => {
    const ents = bootstrapEntries(members.map((m) => ({ id: m.ID, context: tsetcdpb.Member.encode(m).finish() })));
    const hs: HardState = { term: 1, vote: 0n, commit: ents.length };
    await wal.save(hs, ents, true);
    storage.append(ents);
    storage.setHardState(hs);
    return { wal, snapshotter, storage, snapshotIndex: 0, snapshotData: new Uint8Array(0), commit: hs.commit, term: 1 };
  };

  if (await Wal.exists(walDir)) {
    // the newest snapshot file the WAL vouches for, then the WAL after it
    const snap = await snapshotter.loadNewestAvailable(await Wal.validSnapshotMarkers(walDir));
    if (snap !== undefined) {
      storage.applySnapshot(snap);
      log.info('recovered v3 backend from snapshot', { 'snapshot-index': snap.metadata.index });
    }
    const r = await Wal.open(walDir, {
      segmentBytes: cfg.walSegmentBytes,
      onWarning: (m) => log.warn(m),
      fromSnapshot: snap ? { index: snap.metadata.index, term: snap.metadata.term } : undefined,
    });
    const wal = r.wal;
    // segments before the loaded snapshot are released again (the purge job keeps --max-wals)
    if (snap !== undefined) {
      for (const f of await wal.releaseTo(snap.metadata.index, cfg.maxWals ?? defaults.maxWals)) log.info('purged', { path: join(wal.dir, f) });
    }
    if (cfg.unsafeNoFsync) wal.setUnsafeNoFsync();
    const meta = decodeWalMetadata(r.metadata);
    cluster.setIds(meta.memberId, meta.clusterId);
    if (cfg.forceNewCluster) {
      // etcd's restartAsStandaloneNode: drop uncommitted entries, then commit ConfChanges that
      // remove every other member (and add this one if the log does not have it)
      const forced = forceNewClusterEntries({ memberId: meta.memberId, confState: snap?.metadata.confState, entries: r.entries, hardState: r.hardState });
      r.entries.splice(0, r.entries.length, ...forced.entries);
      r.hardState = forced.hardState;
      await wal.save(forced.hardState, forced.appended, true);
      log.warn('forcing restart member', { 'cluster-id': idToHex(meta.clusterId), 'local-member-id': idToHex(meta.memberId), 'commit-index': forced.hardState.commit, 'removed-member-ids': forced.removed.map(idToHex) });
    }
    if (r.entries.length > 0) storage.append(r.entries);
    storage.setHardState(r.hardState);
    log.info('restarting local member', {
      'cluster-id': idToHex(meta.clusterId),
      'local-member-id': idToHex(meta.memberId),
      'commit-index': r.hardState.commit,
    });
    return { wal, snapshotter, storage, snapshotIndex: snap?.metadata.index ?? 0, snapshotData: snap?.data ?? new Uint8Array(0), commit: r.hardState.commit, term: r.hardState.term };
  }

  if (clusterBoot !== undefined) {
    // a multi-member start without a WAL: bootstrap entries of a new cluster, or an empty log to join
    cluster.setIds(clusterBoot.memberId, clusterBoot.clusterId);
    const wal = await createWal();
    const ids = { 'local-member-id': idToHex(cluster.localId), 'cluster-id': idToHex(cluster.clusterId) };
    if (clusterBoot.join) {
      // the leader's log (or snapshot) brings the membership; peers are known meanwhile
      cluster.addKnown(clusterBoot.members);
      log.info('starting local member', { ...ids, join: true });
      return { wal, snapshotter, storage, snapshotIndex: 0, snapshotData: new Uint8Array(0), commit: 0, term: 0 };
    }
    const b = await bootstrap(wal, clusterBoot.members.map((m) => ({ ID: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false })));
    log.info('starting local member', ids);
    return b;
  }

  const memberId = computeMemberId(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
  cluster.setIds(memberId, computeClusterId([memberId]));
  const b = await bootstrap(await createWal(), [{ ID: memberId, name: cfg.name, peerUrls: cfg.initialAdvertisePeerUrls, clientUrls: [], isLearner: false }]);
  log.info('starting local member', { 'local-member-id': idToHex(memberId), 'cluster-id': idToHex(cluster.clusterId) });
  return b;
}
