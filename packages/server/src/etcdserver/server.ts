// EtcdServer: one member. Drives raft (ticks, Ready processing), persists to the WAL, applies
// committed entries to MVCC through the applier, and answers proposers and readers.
//
// The Ready loop is strictly ordered: WAL save (fsync when mustSync) → storage append → send
// messages → apply committed entries (one backend batch) → advance. Proposals arriving while a
// WAL fsync is in flight accumulate and go to raft together on the next turn (group commit).

import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import {
  RawNode,
  MemoryStorage,
  EntryType,
  ConfChangeType,
  ErrProposalDropped,
  bootstrapEntries,
  decodeConfChange,
  type Entry,
  type HardState,
  type Message,
  type SoftState,
  type Ready,
  type NodeId,
  type ConfChange,
  type Status,
} from '@tsetcd/raft';
import { tsetcdpb, etcdserverpb } from '@tsetcd/proto';
import { Wal } from '../wal/index.js';
import { Snapshotter } from '../snap/index.js';
import { MvccStore } from '../mvcc/store.js';
import { Buckets } from '../backend/backend.js';
import { Applier, type ApplyResult } from '../apply/applier.js';
import { Lessor, decodeLeaseRecord, noLease } from '../lease/lessor.js';
import { WatchHub } from '../watch/watch-hub.js';
import { Errors } from '../errors.js';
import { currentCaller } from '../auth/caller-context.js';
import { WaitRegistry } from './wait.js';
import { ReadIndexLoop } from './read-index.js';
import { IdGenerator } from './id-generator.js';
import { computeClusterId, computeMemberId, idToHex } from '@tsetcd/common';
import { clusterVersion, defaults, type ServerConfig, type ServerLogger } from './config.js';
import type { ClusterBootstrap } from './cluster-bootstrap.js';
import { forceNewClusterEntries } from './force-new-cluster.js';
import { warnIfSlowApply } from './slow-apply.js';
import { RaftCluster, majorMinor } from '../membership/raft-cluster.js';
import { reloadLessor, reloadStore, replaceBackendContent, resetWatchRing, stageSnapshotDb } from './snapshot-install.js';

/** Sends raft messages to peers. One member has no peers; the cluster work plugs a real one in. */
export interface Transport {
  send(msgs: Message[]): void;
}

const noPeers: Transport = { send() {} };


function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`etcdserver invariant violated: ${msg}`);
}

function encodeWalMetadata(memberId: bigint, clusterId: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(memberId, 0);
  b.writeBigUInt64BE(clusterId, 8);
  return b;
}

function decodeWalMetadata(b: Buffer): { memberId: bigint; clusterId: bigint } {
  if (b.length !== 16) throw new Error(`etcdserver: WAL metadata of ${b.length} bytes, want 16`);
  return { memberId: b.readBigUInt64BE(0), clusterId: b.readBigUInt64BE(8) };
}

/** How often proposals past their request timeout are failed. */
const proposalExpiryCheckMs = 500;
/** Readies whose WAL write / apply may be in flight at once (the pipeline depth). */
const maxPipelinedReadies = 8;
const emptyInternalRequest: tsetcdpb.InternalRaftRequest = Object.freeze(tsetcdpb.InternalRaftRequest.fromPartial({})) as tsetcdpb.InternalRaftRequest;

export class EtcdServer {
  readonly cfg: ServerConfig;
  readonly log: ServerLogger;
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly applier: Applier;
  readonly hub: WatchHub;
  /** the members, removed IDs and cluster version this member has applied */
  readonly cluster: RaftCluster;
  transport: Transport = noPeers;

  private wal!: Wal;
  private snapshotter!: Snapshotter;
  private snapshotting = false;
  private readonly storage = new MemoryStorage();
  private node!: RawNode;
  private idGen!: IdGenerator;
  private readonly waits = new WaitRegistry<ApplyResult>();
  private pendingProposals: Buffer[] = [];
  private proposeScheduled = false;
  private readyRunning = false;
  private readyAgain = false;
  private readyDone: Promise<void> = Promise.resolve();
  private tickTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private purging: Promise<void> | undefined;
  private stopped = false;
  private fatalError: Error | undefined;

  private appliedIndex = 0;
  private committedIndex = 0;
  private snapshotIndex = 0;
  private term = 0;
  private lead: NodeId = 0n;
  private isLeaderNow = false;
  private published = false;
  private publishing = false;
  private versionProposing = false;

  private readonly reads: ReadIndexLoop;

  /** resolves once this member's attributes are committed (etcd's "published" milestone) */
  readonly readyToServe: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;

  /** counters for metrics */
  readonly stats = { proposalsCommitted: 0, proposalsApplied: 0, proposalsFailed: 0, proposalsPending: 0, leaderChanges: 0, walFsyncSeconds: [] as number[], slowApplies: 0 };
  onWalFsync: ((seconds: number) => void) | undefined;
  /** called once if the raft loop fails (WAL write error, broken invariant); the server closes itself */
  onFatal: ((e: Error) => void) | undefined;

  private constructor(cfg: ServerConfig, store: MvccStore) {
    this.cfg = cfg;
    this.log = cfg.logger;
    this.store = store;
    this.cluster = new RaftCluster(this.log);
    const electionTicks = this.electionTicks();
    // etcd: minimum lease TTL = ceil(((3 * electionTicks) / 2) * heartbeat) in seconds
    const minTtlSeconds = Math.ceil((Math.floor((3 * electionTicks) / 2) * cfg.heartbeatIntervalMs) / 1000);
    this.lessor = new Lessor({
      minTtlSeconds: Math.max(1, minTtlSeconds),
      checkpointIntervalMs: cfg.leaseCheckpoint ? (cfg.leaseCheckpointIntervalMs ?? defaults.leaseCheckpointIntervalMs) : undefined,
      persistCheckpoints: cfg.leaseCheckpointPersist,
    });
    this.hub = new WatchHub({ store, progressNotifyIntervalMs: cfg.watchProgressNotifyIntervalMs });
    this.applier = new Applier({ store, lessor: this.lessor, onEvents: (rev, evs) => this.hub.notify(rev, evs) });
    this.reads = new ReadIndexLoop(
      {
        readIndex: (ctx) => this.node.readIndex(ctx),
        nextId: () => this.idGen.next(),
        wake: () => this.scheduleReady(),
        appliedIndex: () => this.appliedIndex,
        hasLeader: () => this.lead !== 0n,
        isStopped: () => this.stopped,
      },
      { heartbeatIntervalMs: cfg.heartbeatIntervalMs, electionTimeoutMs: cfg.electionTimeoutMs, requestTimeoutMs: this.requestTimeoutMs() },
    );
    this.readyToServe = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.readyToServe.catch(() => undefined);
  }

  get memberId(): bigint {
    return this.cluster.localId;
  }

  get clusterId(): bigint {
    return this.cluster.clusterId;
  }

  electionTicks(): number {
    return Math.max(2, Math.floor(this.cfg.electionTimeoutMs / this.cfg.heartbeatIntervalMs));
  }

  /** Opens (or creates) the member's data dir and starts raft. Resolves when raft is running. */
  static async start(cfg: ServerConfig, opts: { deferPublish?: boolean; cluster?: ClusterBootstrap } = {}): Promise<EtcdServer> {
    const memberDir = join(cfg.dataDir, 'member');
    await mkdir(memberDir, { recursive: true });
    const store = MvccStore.openDir(cfg.dataDir, {
      unsafeNoFsync: cfg.unsafeNoFsync,
      batchIntervalMs: cfg.backendBatchIntervalMs || undefined,
      batchLimitOps: cfg.backendBatchLimit || undefined,
      compactionBatchKeys: cfg.compactionBatchLimit || undefined,
    });
    await store.restored;
    const s = new EtcdServer(cfg, store);
    if (opts.deferPublish) s.publishAllowed = false;
    s.clusterBoot = opts.cluster;
    try {
      await s.boot();
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
    return s;
  }

  private async boot(): Promise<void> {
    const cfg = this.cfg;
    const walDir = cfg.walDir ?? join(cfg.dataDir, 'member', 'wal');
    this.restoreBackendState();
    let restarting = await Wal.exists(walDir);
    let applied = 0;
    this.snapshotter = new Snapshotter(join(cfg.dataDir, 'member', 'snap'), { keep: cfg.maxSnapshots ?? defaults.maxSnapshots, onWarning: (m) => this.log.warn(m) });
    if (restarting) {
      // the newest snapshot file the WAL vouches for, then the WAL after it
      const snap = await this.snapshotter.loadNewestAvailable(await Wal.validSnapshotMarkers(walDir));
      if (snap !== undefined) {
        this.storage.applySnapshot(snap);
        this.snapshotIndex = snap.metadata.index;
        applied = snap.metadata.index;
        this.appliedIndex = applied;
        this.log.info('recovered v3 backend from snapshot', { 'snapshot-index': applied });
      }
      const r = await Wal.open(walDir, {
        segmentBytes: cfg.walSegmentBytes,
        onWarning: (m) => this.log.warn(m),
        fromSnapshot: snap ? { index: snap.metadata.index, term: snap.metadata.term } : undefined,
      });
      this.wal = r.wal;
      // segments before the loaded snapshot are released again (the purge job keeps --max-wals)
      if (snap !== undefined) await this.wal.releaseTo(snap.metadata.index, cfg.maxWals ?? defaults.maxWals);
      if (cfg.unsafeNoFsync) this.wal.setUnsafeNoFsync();
      const meta = decodeWalMetadata(r.metadata);
      this.cluster.setIds(meta.memberId, meta.clusterId);
      if (cfg.forceNewCluster) {
        // etcd's restartAsStandaloneNode: drop uncommitted entries, then commit ConfChanges that
        // remove every other member (and add this one if the log does not have it)
        const forced = forceNewClusterEntries({ memberId: this.memberId, confState: snap?.metadata.confState, entries: r.entries, hardState: r.hardState });
        r.entries.splice(0, r.entries.length, ...forced.entries);
        r.hardState = forced.hardState;
        await this.wal.save(forced.hardState, forced.appended, true);
        this.log.warn('forcing restart member', { 'cluster-id': idToHex(this.clusterId), 'local-member-id': idToHex(this.memberId), 'commit-index': forced.hardState.commit, 'removed-member-ids': forced.removed.map(idToHex) });
      }
      if (r.entries.length > 0) this.storage.append(r.entries);
      this.storage.setHardState(r.hardState);
      this.committedIndex = r.hardState.commit;
      this.term = r.hardState.term;
      this.log.info('restarting local member', {
        'cluster-id': idToHex(this.clusterId),
        'local-member-id': idToHex(this.memberId),
        'commit-index': r.hardState.commit,
      });
    } else if (this.clusterBoot !== undefined) {
      await this.bootCluster(walDir, this.clusterBoot);
    } else {
      const memberId = computeMemberId(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
      this.cluster.setIds(memberId, computeClusterId([memberId]));
      const self: tsetcdpb.Member = {
        ID: this.memberId,
        name: cfg.name,
        peerUrls: cfg.initialAdvertisePeerUrls,
        clientUrls: [],
        isLearner: false,
      };
      const ents = bootstrapEntries([{ id: this.memberId, context: tsetcdpb.Member.encode(self).finish() }]);
      const hs: HardState = { term: 1, vote: 0n, commit: ents.length };
      this.wal = await Wal.create(walDir, encodeWalMetadata(this.memberId, this.clusterId), { segmentBytes: this.cfg.walSegmentBytes });
      if (cfg.unsafeNoFsync) this.wal.setUnsafeNoFsync();
      await this.wal.save(hs, ents, true);
      this.storage.append(ents);
      this.storage.setHardState(hs);
      this.committedIndex = hs.commit;
      this.term = 1;
      this.log.info('starting local member', {
        'local-member-id': idToHex(this.memberId),
        'cluster-id': idToHex(this.clusterId),
      });
    }
    // entries at or below the backend's consistent index were applied before the restart
    const ci = this.store.consistentIndex();
    if (ci < applied) throw new Error(`etcdserver: backend consistent index ${ci} is behind the raft snapshot at ${applied}`);
    this.skipUpTo = ci;
    this.idGen = new IdGenerator(this.memberId);
    this.node = new RawNode({
      id: this.memberId,
      electionTick: this.electionTicks(),
      heartbeatTick: 1,
      storage: this.storage,
      applied,
      checkQuorum: true,
      preVote: cfg.preVote ?? false,
      random: Math.random,
      asyncStorageWrites: true,
    });
    this.tickTimer = setInterval(() => this.tick(), cfg.heartbeatIntervalMs);
    this.waits.startExpiry(proposalExpiryCheckMs, () => Errors.timeout(), (n) => (this.stats.proposalsFailed += n));
    this.lessor.startExpiry({
      revoke: (id) => this.proposeRaw({ leaseRevoke: { ID: id } }),
      checkpoint: (cps) => this.proposeRaw({ leaseCheckpoint: { checkpoints: cps.map((c) => ({ ID: c.id, remainingTTL: BigInt(c.remainingTtlSeconds) })) } }),
    });
    this.purgeTimer = setInterval(() => void this.purgeFiles(), cfg.purgeIntervalMs ?? defaults.purgeIntervalMs);
    this.purgeTimer.unref();
    this.scheduleReady();
    void restarting;
  }

  /** entries with index <= this were applied to the backend before a restart */
  private skipUpTo = 0;
  private clusterBoot: ClusterBootstrap | undefined;

  /** A multi-member start without a WAL: bootstrap entries of a new cluster, or an empty log to join. */
  private async bootCluster(walDir: string, cb: ClusterBootstrap): Promise<void> {
    this.cluster.setIds(cb.memberId, cb.clusterId);
    this.wal = await Wal.create(walDir, encodeWalMetadata(this.memberId, this.clusterId), { segmentBytes: this.cfg.walSegmentBytes });
    if (this.cfg.unsafeNoFsync) this.wal.setUnsafeNoFsync();
    if (cb.join) {
      // the leader's log (or snapshot) brings the membership; peers are known meanwhile
      this.cluster.addKnown(cb.members);
      this.log.info('starting local member', { 'local-member-id': idToHex(this.memberId), 'cluster-id': idToHex(this.clusterId), join: true });
      return;
    }
    const ents = bootstrapEntries(
      cb.members.map((m) => ({ id: m.id, context: tsetcdpb.Member.encode({ ID: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false }).finish() })),
    );
    const hs: HardState = { term: 1, vote: 0n, commit: ents.length };
    await this.wal.save(hs, ents, true);
    this.storage.append(ents);
    this.storage.setHardState(hs);
    this.committedIndex = hs.commit;
    this.term = 1;
    this.log.info('starting local member', { 'local-member-id': idToHex(this.memberId), 'cluster-id': idToHex(this.clusterId) });
  }

  private restoreBackendState(): void {
    const b = this.store.backend;
    for (const [, v] of b.rangeAux(Buckets.lease)) this.lessor.restore(decodeLeaseRecord(v));
    // re-attach keys to their leases
    const all = this.store.range(Buffer.of(0), { rangeEnd: Buffer.of(0) });
    for (const kv of all.kvs) if (kv.lease !== noLease && this.lessor.lookup(kv.lease)) this.lessor.attach(kv.lease, kv.key);
    this.cluster.recover(b);
  }

  // ---- raft driving ----

  private tick(): void {
    if (this.stopped) return;
    this.node.tick();
    this.scheduleReady();
  }

  private scheduleReady(): void {
    if (this.readyRunning) {
      this.readyAgain = true;
      return;
    }
    this.readyRunning = true;
    this.readyDone = this.runReady().catch((e) => this.fatal(e));
  }

  private async runReady(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        this.readyAgain = false;
        this.flushProposals();
        if (!this.node.hasReady()) {
          if (this.readyAgain) continue;
          return;
        }
        const rd = this.node.ready();
        this.processReady(rd);
        // bounded pipeline: at most maxPipelinedReadies Readies wait for their fsync + apply
        if (this.applyingReadies >= maxPipelinedReadies) await this.applyChain;
      }
    } finally {
      this.readyRunning = false;
    }
  }

  /**
   * One Ready, pipelined: its WAL write starts now and raft moves on (entries are in the log
   * storage, advance() called) so the next Ready's write can join the WAL's group commit, while
   * messages, applies and replies of this Ready wait — in order — until its records are durable.
   */
  private processReady(rd: Ready): void {
    if (rd.softState) this.onSoftState(rd.softState);
    for (const rs of rd.readStates) this.reads.onReadState(rs);
    // raft's asyncStorageWrites contract: these messages promise nothing about this Ready's
    // writes (the leader replicates in parallel with its own fsync); answers wait (below)
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    if (rd.snapshot) {
      // a snapshot from the leader: snap file + WAL marker first, then this Ready's records
      const snap = rd.snapshot;
      const snapSaved = this.lastSave.then(async () => {
        await this.snapshotter.save(snap);
        await this.wal.saveSnapshotMarker({ index: snap.metadata.index, term: snap.metadata.term });
      });
      this.snapshotSaving = snapSaved;
      const done = (): void => {
        if (this.snapshotSaving === snapSaved) this.snapshotSaving = undefined;
      };
      snapSaved.then(done, done);
      this.lastSave = snapSaved;
      this.storage.applySnapshot(snap);
    }
    let saved = this.lastSave;
    if (rd.hardState || rd.entries.length > 0) {
      const t0 = performance.now();
      // records after a snapshot follow its WAL marker (this Ready's, or a later one's: raft
      // moves on before the snapshot is saved)
      const after = this.snapshotSaving;
      saved = after ? after.then(() => this.wal.save(rd.hardState, rd.entries, rd.mustSync)) : this.wal.save(rd.hardState, rd.entries, rd.mustSync);
      if (rd.mustSync && this.onWalFsync) saved.then(() => this.onWalFsync?.((performance.now() - t0) / 1000), () => undefined);
      this.lastSave = saved;
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
      this.committedIndex = rd.hardState.commit;
    }
    this.node.advance(rd);
    const durable = saved;
    // durable: append and vote answers go out, and a leader counts its own entries from now
    durable.then(() => {
      if (this.stopped || this.fatalError) return;
      if (rd.messagesAfterWrite.length > 0) this.transport.send(rd.messagesAfterWrite);
      this.node.persisted(rd);
      this.scheduleReady();
    }, () => undefined);
    this.applyingReadies++;
    this.applyChain = this.applyChain
      .then(() => durable)
      .then(async () => {
        this.applyingReadies--;
        if (this.fatalError) return;
        if (rd.snapshot) await this.applySnapshotDb(rd.snapshot.metadata.index);
        if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
        this.afterApply();
        if (this.appliedIndex - this.snapshotIndex > this.cfg.snapshotCount && !this.snapshotting) await this.snapshot();
      })
      .catch((e) => this.fatal(e));
  }

  private lastSave: Promise<void> = Promise.resolve();
  /** a received snapshot's file + WAL marker being saved; WAL records wait for it */
  private snapshotSaving: Promise<void> | undefined;
  private applyChain: Promise<void> = Promise.resolve();
  private applyingReadies = 0;

  /**
   * etcd's triggerSnapshot: the backend is committed (its consistent index covers the snapshot),
   * a snapshot file + WAL marker are written, the in-memory raft log keeps only a catch-up tail,
   * and WAL segments before the snapshot are released.
   */
  private async snapshot(): Promise<void> {
    this.snapshotting = true;
    try {
      const index = this.appliedIndex;
      this.log.info('triggering snapshot', { 'local-member-id': idToHex(this.memberId), 'local-member-applied-index': index, 'local-member-snapshot-index': this.snapshotIndex, 'local-member-snapshot-count': this.cfg.snapshotCount });
      await this.store.backend.commitDurable();
      const snap = this.storage.createSnapshot(index, this.node.status().confState, new Uint8Array(0));
      await this.snapshotter.save(snap);
      await this.wal.saveSnapshotMarker({ index, term: snap.metadata.term });
      this.snapshotIndex = index;
      this.log.info('saved snapshot', { 'snapshot-index': index });
      const compactIndex = index - (this.cfg.snapshotCatchUpEntries ?? defaults.snapshotCatchUpEntries);
      if (compactIndex > this.storage.firstIndex()) {
        this.storage.compact(compactIndex);
        this.log.info('compacted Raft logs', { 'compact-index': compactIndex });
      }
      await this.wal.releaseTo(index, this.cfg.maxWals ?? defaults.maxWals);
    } finally {
      this.snapshotting = false;
    }
  }

  /** etcd's purgeFile job: snapshot files beyond --max-snapshots, released WAL files beyond --max-wals. */
  private purgeFiles(): Promise<void> {
    if (this.purging || this.stopped) return this.purging ?? Promise.resolve();
    this.purging = (async () => {
      try {
        const snaps = await this.snapshotter.purge();
        const wals = await this.wal.purge(this.cfg.maxWals ?? defaults.maxWals);
        for (const f of snaps) this.log.info('purged', { path: join(this.snapshotter.dir, f) });
        for (const f of wals) this.log.info('purged', { path: join(this.wal.dir, f) });
      } catch (e) {
        this.log.warn('failed to purge old files', { error: String(e) });
      } finally {
        this.purging = undefined;
      }
    })();
    return this.purging;
  }

  /** Runs the purge job now (tests; the job also runs every purgeIntervalMs). */
  purgeNow(): Promise<void> {
    return this.purgeFiles();
  }

  /** Members this member knows of (from its data, or the bootstrap plan before it is applied). */
  knownMemberCount(): number {
    return Math.max(this.cluster.size, this.clusterBoot?.members.length ?? 0);
  }

  /** etcd's advanceTicks: fast-forwards the election clock (initial election tick advance). */
  advanceTicks(n: number): void {
    if (this.stopped) return;
    for (let i = 0; i < n; i++) this.node.tick();
    this.scheduleReady();
  }

  private onSoftState(ss: SoftState): void {
    if (ss.lead !== this.lead) {
      if (ss.lead !== 0n) this.stats.leaderChanges++;
      this.log.info(ss.lead === 0n ? 'raft.node lost leader' : 'raft.node elected leader', {
        'local-member-id': idToHex(this.memberId),
        'leader-member-id': idToHex(ss.lead),
        term: this.node.status().term,
      });
    }
    this.lead = ss.lead;
    const leader = ss.state === 'Leader';
    if (leader && !this.isLeaderNow) {
      this.isLeaderNow = true;
      this.lessor.promote(this.cfg.electionTimeoutMs);
    } else if (!leader && this.isLeaderNow) {
      this.isLeaderNow = false;
      this.lessor.demote();
    }
  }

  private flushProposals(): void {
    if (this.pendingProposals.length === 0) return;
    const batch = this.pendingProposals;
    this.pendingProposals = [];
    try {
      this.node.proposeBatch(batch);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
      if (this.lead === 0n && !this.stopped) {
        // like etcd's raft node, proposals wait for a leader (until their request times out);
        // the next tick tries again
        const still = batch.filter((data) => this.waits.isRegistered(tsetcdpb.InternalRaftRequest.decode(data).header?.ID ?? 0n));
        this.pendingProposals = still.concat(this.pendingProposals);
        return;
      }
      for (const data of batch) {
        const id = tsetcdpb.InternalRaftRequest.decode(data).header?.ID ?? 0n;
        this.stats.proposalsFailed++;
        this.waits.fail(id, Errors.proposalDropped());
      }
    }
  }

  // ---- applying ----

  private applyEntries(ents: Entry[]): void {
    for (const e of ents) {
      assert(e.index === this.appliedIndex + 1, `apply gap: ${this.appliedIndex} then ${e.index}`);
      if (e.type === EntryType.ConfChange) {
        this.applyConfChange(e);
      } else if (e.index > this.skipUpTo && e.data.length > 0) {
        this.applyNormal(e);
      }
      this.appliedIndex = e.index;
      if (e.index > this.skipUpTo) this.store.setConsistentIndex(e.index);
    }
  }

  private applyNormal(e: Entry): void {
    const req = tsetcdpb.InternalRaftRequest.decode(e.data);
    const id = req.header?.ID ?? req.ID;
    this.stats.proposalsCommitted++;
    const t0 = performance.now();
    let result: ApplyResult;
    if (req.clusterMemberAttrSet) {
      this.applyMemberAttrs(req.clusterMemberAttrSet);
      result = { resp: undefined };
    } else if (req.clusterVersionSet) {
      this.applyClusterVersion(req.clusterVersionSet.ver);
      result = { resp: undefined };
    } else {
      result = this.applier.apply(req);
    }
    if (warnIfSlowApply(this.log, this.cfg.warningApplyDurationMs ?? defaults.warningApplyDurationMs, t0, req, result.err)) this.stats.slowApplies++;
    this.stats.proposalsApplied++;
    if (result.err) this.stats.proposalsFailed++;
    this.waits.trigger(id, result);
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.node.applyConfChange(cc);
    if (e.index > this.skipUpTo) this.cluster.applyConfChange(cc);
    this.onConfChangeApplied?.(cc);
  }

  /** Called after each applied ConfChange (cluster layer: peer streams, waiters). */
  onConfChangeApplied: ((cc: ConfChange) => void) | undefined;

  private applyMemberAttrs(r: tsetcdpb.ClusterMemberAttrSetRequest): void {
    const m = this.cluster.setAttributes(r.memberID, r.memberAttributes);
    if (m === undefined) return;
    if (r.memberID === this.memberId && !this.published) {
      this.published = true;
      this.log.info('published local member to cluster through raft', {
        'local-member-id': idToHex(this.memberId),
        'local-member-attributes': `{Name:${m.name} ClientURLs:[${m.clientUrls.join(' ')}]}`,
        'request-path': `/0/members/${idToHex(this.memberId)}/attributes`,
        'cluster-id': idToHex(this.clusterId),
        'publish-timeout': `${defaults.requestTimeoutBaseMs / 1000 + (2 * this.cfg.electionTimeoutMs) / 1000}s`,
      });
      this.resolveReady();
    }
  }

  private applyClusterVersion(ver: string): void {
    this.cluster.setVersion(ver);
    this.versionLogged = true;
  }

  /** Work that depends on the applied index: reads waiting for it, publishing, first campaign. */
  private afterApply(): void {
    this.reads.onApplied(this.appliedIndex);
    if (!this.isLeaderNow && this.lead === 0n) {
      const st = this.node.status();
      // a one-member cluster need not wait an election timeout to elect itself
      if (st.state === 'Follower' && st.confState.voters.length === 1 && st.confState.voters[0] === this.memberId) {
        this.node.campaign();
        this.scheduleReady();
      }
    }
    if (this.isLeaderNow) {
      if (!this.published && !this.publishing && this.publishAllowed && this.appliedIndex >= this.committedIndex) this.publish();
      if (this.cluster.version === undefined && !this.versionProposing && this.published) {
        this.versionProposing = true;
        this.proposeRaw({ clusterVersionSet: { ver: clusterVersion } }).finally(() => {
          this.versionProposing = false;
        }).catch(() => undefined);
      } else if (this.cluster.version !== undefined && this.published && !this.versionLogged) {
        this.versionLogged = true;
        this.log.info('enabled capabilities for version', { 'cluster-version': majorMinor(this.cluster.version) });
      }
    } else if (!this.published && this.lead !== 0n && !this.publishing && this.publishAllowed) {
      this.publish();
    }
  }

  private versionLogged = false;
  private publishAllowed = true;

  /** Lets the member publish its attributes (the embedder calls it once client URLs are bound). */
  allowPublish(): void {
    if (this.publishAllowed || this.stopped) return;
    this.publishAllowed = true;
    this.afterApply();
    this.scheduleReady();
  }

  private publish(): void {
    this.publishing = true;
    this.proposeRaw({
      clusterMemberAttrSet: {
        memberID: this.memberId,
        memberAttributes: { name: this.cfg.name, clientUrls: this.cfg.advertiseClientUrls },
      },
    })
      .catch((e) => this.log.warn('failed to publish local member to cluster through raft', { error: String(e) }))
      .finally(() => {
        this.publishing = false;
        // a member that learned the cluster version from its data or a snapshot (a restart, a
        // joining member) says so once published, as etcd does when it recovers the cluster
        if (this.cluster.version !== undefined && this.published && !this.versionLogged) {
          this.versionLogged = true;
          this.log.info('enabled capabilities for version', { 'cluster-version': majorMinor(this.cluster.version) });
        }
      });
  }

  // ---- proposing ----

  /** Proposes a request through raft and resolves with its apply result (response or etcd error). */
  async propose(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<unknown> {
    const res = await this.proposeRaw(r);
    if (res.err) throw res.err;
    return res.resp;
  }

  /** Like propose(), also giving the physical-compaction promise of a compaction. */
  async proposeFull(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<ApplyResult> {
    const res = await this.proposeRaw(r);
    if (res.err) throw res.err;
    return res;
  }

  private proposeRaw(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(Errors.stopped());
    const id = this.idGen.next();
    // sub-requests are complete messages already (decoded from the wire or built here): no deep copy
    // the authenticated caller (auth enabled), for the applier's permission checks
    const caller = currentCaller();
    const msg: tsetcdpb.InternalRaftRequest = { ...emptyInternalRequest, ...r, header: { ID: id, username: caller?.user ?? '', authRevision: caller?.authRevision ?? 0n } };
    const data = Buffer.from(tsetcdpb.InternalRaftRequest.encode(msg).finish());
    if (data.length > this.cfg.maxRequestBytes) return Promise.reject(Errors.requestTooLarge());
    const p = this.waits.register(id, performance.now() + this.requestTimeoutMs());
    this.pendingProposals.push(data);
    if (!this.proposeScheduled) {
      this.proposeScheduled = true;
      setImmediate(() => {
        this.proposeScheduled = false;
        this.scheduleReady();
      });
    }
    return p;
  }

  /** proposals waiting to be committed/applied */
  pendingCount(): number {
    return this.waits.size;
  }

  nextId(): bigint {
    return this.idGen.next();
  }

  // ---- reads ----

  /** Resolves once this member's applied state reflects every write committed before the call. */
  linearizableReadNotify(): Promise<void> {
    if (this.stopped) return Promise.reject(Errors.stopped());
    return this.reads.notify();
  }

  // ---- leases ----

  /** etcd's request timeout: 5s + 2 * election timeout */
  requestTimeoutMs(): number {
    return defaults.requestTimeoutBaseMs + 2 * this.cfg.electionTimeoutMs;
  }

  leaseRenew(id: bigint): number {
    if (!this.isLeaderNow) throw Errors.notLeader();
    const hadCheckpoint = (this.lessor.lookup(id)?.remainingTtlSeconds ?? 0) > 0;
    const ttl = this.lessor.renew(id);
    // etcd 3.4.23: a renewal clears the checkpointed TTL on every member (one entry per renewal
    // only while one is set)
    if (this.lessor.checkpointing && hadCheckpoint) this.proposeRaw({ leaseCheckpoint: { checkpoints: [{ ID: id, remainingTTL: 0n }] } }).catch(() => undefined);
    return ttl;
  }

  // ---- cluster: raft inputs from the peer transport and the Cluster API ----

  /**
   * databases of received snapshots by index, waiting for raft to hand the snapshot out (a
   * newer one may arrive before raft hands out the older)
   */
  private readonly stagedSnapshotDbs = new Map<number, string>();

  /**
   * A MsgSnap with the leader's database (written to `file`): the database is staged, then the
   * message goes to raft; the database is installed when raft hands the snapshot out (Ready).
   */
  async receiveSnapshot(m: Message, file: string): Promise<void> {
    const idx = m.snapshot?.metadata.index ?? 0;
    if (this.stopped) throw Errors.stopped();
    if (idx > this.appliedIndex) {
      const old = this.stagedSnapshotDbs.get(idx);
      this.stagedSnapshotDbs.delete(idx);
      if (old !== undefined) await rm(old, { recursive: true, force: true }).catch(() => undefined);
      this.stagedSnapshotDbs.set(idx, await stageSnapshotDb(file, idx));
      this.log.info('received database snapshot', { 'remote-peer-id': idToHex(m.from), 'incoming-snapshot-index': idx });
    }
    this.step(m);
  }

  /** etcd's applySnapshot: replace the backend's content, rebuild what derives from it. */
  private async applySnapshotDb(idx: number): Promise<void> {
    if (idx <= this.appliedIndex) return;
    const dir = this.stagedSnapshotDbs.get(idx);
    if (dir === undefined) throw new Error(`etcdserver: raft snapshot at index ${idx} arrived without its database`);
    // this one and older ones are done with
    for (const [i, d] of this.stagedSnapshotDbs) {
      if (i > idx) continue;
      this.stagedSnapshotDbs.delete(i);
      if (d !== dir) await rm(d, { recursive: true, force: true }).catch(() => undefined);
    }
    this.log.info('applying snapshot', { 'local-member-id': idToHex(this.memberId), 'incoming-snapshot-index': idx, 'local-member-applied-index': this.appliedIndex });
    const ci = await replaceBackendContent(this.store.backend, dir);
    await reloadStore(this.store);
    reloadLessor(this.lessor, this.store);
    this.applier.auth.recover();
    resetWatchRing(this.hub);
    this.cluster.recover(this.store.backend);
    this.appliedIndex = idx;
    this.snapshotIndex = idx;
    this.skipUpTo = Math.max(this.skipUpTo, ci);
    this.log.info('applied snapshot', { 'local-member-id': idToHex(this.memberId), 'applied-index': idx, 'backend-consistent-index': ci });
    // membership may have changed: let the cluster layer resync its peers
    this.onConfChangeApplied?.({ type: ConfChangeType.UpdateNode, nodeId: 0n, context: new Uint8Array(0) });
  }

  /** A raft message from a peer. */
  step(m: Message): void {
    if (this.stopped || this.node === undefined) return;
    try {
      this.node.step(m);
    } catch (e) {
      this.log.warn('failed to process raft message', { error: (e as Error).message, 'message-type': m.type });
      return;
    }
    this.scheduleReady();
  }

  reportUnreachable(id: bigint): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    if (this.stopped) return;
    this.node.reportSnapshot(id, ok);
    this.scheduleReady();
  }

  /** Asks raft to hand leadership to `id` (MoveLeader). */
  transferLeadership(id: bigint): void {
    if (this.stopped) throw Errors.stopped();
    this.node.transferLeader(id);
    this.scheduleReady();
  }

  /** Proposes a membership change; the caller waits for it through onConfChangeApplied. */
  proposeConfChange(cc: ConfChange): void {
    if (this.stopped) throw Errors.stopped();
    this.node.proposeConfChange(cc);
    this.scheduleReady();
  }

  raftStatus(): Status {
    return this.node.status();
  }

  // ---- status ----

  header(revision?: bigint): etcdserverpb.ResponseHeader {
    return {
      clusterId: this.clusterId,
      memberId: this.memberId,
      revision: revision ?? this.store.currentRevision(),
      raftTerm: BigInt(this.term),
    };
  }

  isLeader(): boolean {
    return this.isLeaderNow;
  }

  leader(): bigint {
    return this.lead;
  }

  raftTerm(): number {
    return this.term;
  }

  raftIndex(): number {
    return this.committedIndex;
  }

  raftAppliedIndex(): number {
    return this.appliedIndex;
  }

  isStopped(): boolean {
    return this.stopped;
  }

  // ---- shutdown ----

  private closing: Promise<void> | undefined;

  private fatal(e: unknown): void {
    this.fatalError = e instanceof Error ? e : new Error(String(e));
    this.log.error('etcdserver: fatal error in the raft loop', { error: String((e as Error)?.stack ?? e) });
    void this.close();
    this.onFatal?.(this.fatalError);
  }

  /** Stops raft, lets the in-flight Ready finish (its applies land), closes WAL and backend. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      this.stopped = true;
      if (this.tickTimer) clearInterval(this.tickTimer);
      this.lessor.stopExpiry();
      this.waits.stopExpiry();
      if (this.purgeTimer) clearInterval(this.purgeTimer);
      await this.purging;
      await this.readyDone.catch(() => undefined);
      await this.applyChain.catch(() => undefined);
      const stopped = Errors.stopped();
      this.waits.failAll(stopped);
      this.reads.close(stopped);
      this.rejectReady(stopped);
      this.hub.close();
      await this.wal?.close().catch(() => undefined);
      await this.store.close();
    })();
    return this.closing;
  }

  get fatalCause(): Error | undefined {
    return this.fatalError;
  }
}
