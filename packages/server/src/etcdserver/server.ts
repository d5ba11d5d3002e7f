// EtcdServer: one member (etcd's etcdserver/server.go). Composes the raft node driver
// (raft-node.ts) with the apply loop: committed entries go to MVCC, leases and auth through the
// applier, membership changes to the RaftCluster; proposers wait for their entry to be applied,
// linearizable readers for the read index (read-index.ts). It also publishes the member's
// attributes and the cluster version once it can, and installs snapshots received from a leader.
//
// A little over 500 lines: besides the apply loop this is the member's whole surface for the
// API, the peer transport and the embedder (about 40 small entry points and accessors).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EntryType, ConfChangeType, MessageType, copyEntryDataToBuffer, decodeConfChange, type Entry, type Message, type SoftState, type Snapshot, type ConfChange, type Status } from '@tsetcd/raft';
import { UndeliveredProposals } from './undelivered-proposals.js';
import { tsetcdpb, etcdserverpb, ScratchWriter, putProposal, type PutProposal, type Encodes } from '@tsetcd/proto';
import { idToHex } from '@tsetcd/common';
import { MvccStore } from '../mvcc/store.js';
import { Buckets, type Backend } from '../backend/backend.js';
import type { AuthStore } from '../auth/auth-store.js';
import { Applier, type ApplyResult } from '../apply/applier.js';
import { Lessor, decodeLeaseRecord } from '../lease/lessor.js';
import { WatchHub } from '../watch/watch-hub.js';
import { Errors } from '../errors.js';
import { currentCaller } from '../auth/caller-context.js';
import { WaitRegistry } from './wait.js';
import { ReadIndexLoop } from './read-index.js';
import { IdGenerator } from './id-generator.js';
import { backendQuotaBytes, defaults, type ServerConfig, type ServerLogger } from './config.js';
import type { ClusterBootstrap } from './cluster-bootstrap.js';
import { warnIfSlowApply } from './slow-apply.js';
import { RaftCluster } from '../membership/raft-cluster.js';
import { SnapshotInstaller } from './snapshot-install.js';
import { bootRaft } from './boot.js';
import { Publisher } from './publisher.js';
import { ServerListeners, type ServerListener } from './server-listener.js';
import { RaftNode, type Transport } from './raft-node.js';
import { V2Apply, touchesV2Store } from './v2-apply.js';
import { LeaderStats } from './follower-stats.js';
import type { V2Request } from '../v2store/apply.js';
import type { V2Store } from '../v2store/store.js';

export type { Transport } from './raft-node.js';

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`etcdserver invariant violated: ${msg}`);
}

/** How often proposals past their request timeout are failed. */
const proposalExpiryCheckMs = 500;
/** Proposals remembered for apply without a decode (see ownProposals). */
const ownProposalsLimit = 65536;
/** The response of an applied request, or its error thrown. */
function responseOf(res: ApplyResult): unknown {
  if (res.err) throw res.err;
  return res.resp;
}

/** Proposals are encoded here, then copied into the log's entry slab (the only copy kept). */
const proposalWriter = new ScratchWriter();

/**
 * `r` with every field present (one object shape keeps the generated encoder and the applier
 * monomorphic), built field by field: a spread over a frozen 26-field default cost ~1.4 KB a request.
 */
function fullRequest(r: Partial<tsetcdpb.InternalRaftRequest>, header: tsetcdpb.RequestHeader): tsetcdpb.InternalRaftRequest {
  return {
    header,
    ID: r.ID ?? 0n,
    v2: r.v2,
    range: r.range,
    put: r.put,
    deleteRange: r.deleteRange,
    txn: r.txn,
    compaction: r.compaction,
    leaseGrant: r.leaseGrant,
    leaseRevoke: r.leaseRevoke,
    alarm: r.alarm,
    leaseCheckpoint: r.leaseCheckpoint,
    authEnable: r.authEnable,
    authDisable: r.authDisable,
    authenticate: r.authenticate,
    authUserAdd: r.authUserAdd,
    authUserDelete: r.authUserDelete,
    authUserChangePassword: r.authUserChangePassword,
    authUserGrantRole: r.authUserGrantRole,
    authUserRevokeRole: r.authUserRevokeRole,
    authRoleAdd: r.authRoleAdd,
    authRoleDelete: r.authRoleDelete,
    authRoleGrantPermission: r.authRoleGrantPermission,
    authRoleRevokePermission: r.authRoleRevokePermission,
    clusterVersionSet: r.clusterVersionSet,
    clusterMemberAttrSet: r.clusterMemberAttrSet,
  };
}

/**
 * An entry's request. Every tsetcd proposal is an InternalRaftRequest with a header; etcd 3.4
 * proposes v2 requests as a bare etcdserverpb.Request (a log etcd wrote, e.g. one `etcdctl backup`
 * copied), which etcd's apply tells apart the same way: what is no InternalRaftRequest is read as
 * a v2 Request. A header marks an InternalRaftRequest (a Request has no field 100).
 */
function decodeRequest(data: Uint8Array): tsetcdpb.InternalRaftRequest {
  let internal: tsetcdpb.InternalRaftRequest | undefined;
  try {
    internal = tsetcdpb.InternalRaftRequest.decode(data);
  } catch {
    // not one: read as etcd's bare v2 Request below
  }
  if (internal !== undefined && internal.header !== undefined) return internal;
  let v2: tsetcdpb.Request;
  try {
    v2 = tsetcdpb.Request.decode(data);
  } catch (e) {
    if (internal !== undefined) return internal;
    throw e;
  }
  return { ...tsetcdpb.InternalRaftRequest.fromPartial({}), ID: v2.ID, v2 };
}

export class EtcdServer {
  readonly cfg: ServerConfig;
  readonly log: ServerLogger;
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly applier: Applier;
  readonly hub: WatchHub;
  /** the members, removed IDs and cluster version this member has applied */
  readonly cluster: RaftCluster;

  private raft!: RaftNode;
  private idGen!: IdGenerator;
  private readonly waits = new WaitRegistry<ApplyResult>();
  /**
   * Requests this member proposed, by the entry bytes raft hands back when they commit: applying
   * them needs no decode of what was just encoded. Only a cache: emptied when the leader changes
   * (entries of a lost term may never come back) and when it grows past ownProposalsLimit.
   * (A WeakMap costs more: its 50k ephemerons slowed every scavenge.)
   */
  private readonly ownProposals = new Map<Uint8Array, tsetcdpb.InternalRaftRequest>();
  private stopped = false;
  private fatalError: Error | undefined;

  private appliedIndex = 0;
  private lead = 0n;
  /** forwarded proposals whose leader refused the connection, waiting for the next leader */
  private readonly undelivered = new UndeliveredProposals((data) => this.waits.isRegistered(requestIdOf(data)));
  private isLeaderNow = false;
  /** when this member started, and when it saw the leader change last (Unix ns; /v2/stats/self) */
  readonly startedAtNs = BigInt(Date.now()) * 1_000_000n;
  leaderSinceNs = this.startedAtNs;

  private readonly reads: ReadIndexLoop;

  private readonly publisher: Publisher;
  private readonly installer: SnapshotInstaller;
  /** the v2 store and its apply path (etcd's v2store and applierV2) */
  private readonly v2: V2Apply;

  /** counters for metrics */
  readonly stats = { proposalsCommitted: 0, proposalsApplied: 0, proposalsFailed: 0, proposalsPending: 0, leaderChanges: 0, walFsyncSeconds: [] as number[], slowApplies: 0, appendRequestsSent: 0, appendRequestsReceived: 0 };
  private readonly listeners: ServerListeners;
  /** the leader's per-follower latency and counts (/v2/stats/leader) */
  readonly leaderStats = new LeaderStats();

  private constructor(cfg: ServerConfig, store: MvccStore, deferPublish: boolean, listeners: ServerListeners) {
    this.cfg = cfg;
    this.listeners = listeners;
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
    this.applier = new Applier({ store, lessor: this.lessor, onEvents: (rev, evs) => this.hub.notify(rev, evs), quotaBytes: () => backendQuotaBytes(this.cfg) });
    // (etcd logs its quota once, from the applier's)
    if (cfg.quotaBackendBytes < 0) this.log.info('disabled backend quota', { 'quota-name': 'v3-applier', 'quota-size-bytes': cfg.quotaBackendBytes });
    this.reads = new ReadIndexLoop(
      {
        readIndex: (ctx) => this.raft.readIndex(ctx),
        nextId: () => this.idGen.next(),
        wake: () => this.raft.wake(),
        appliedIndex: () => this.appliedIndex,
        hasLeader: () => this.lead !== 0n,
        isStopped: () => this.stopped,
      },
      { heartbeatIntervalMs: cfg.heartbeatIntervalMs, electionTimeoutMs: cfg.electionTimeoutMs, requestTimeoutMs: this.requestTimeoutMs() },
    );
    this.v2 = new V2Apply(this.log);
    this.installer = new SnapshotInstaller({ store, lessor: this.lessor, auth: this.applier.auth, hub: this.hub, cluster: this.cluster, log: this.log });
    this.publisher = new Publisher({
      name: cfg.name,
      advertiseClientUrls: () => this.cfg.advertiseClientUrls,
      electionTimeoutMs: cfg.electionTimeoutMs,
      allowed: !deferPublish,
      log: this.log,
      cluster: this.cluster,
      propose: (r) => this.proposeRaw(r),
    });
  }

  /** resolves once this member's attributes are applied (etcd's "published" milestone) */
  get readyToServe(): Promise<void> {
    return this.publisher.ready;
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

  /**
   * Opens (or creates) the member's data dir and starts raft. Resolves when raft is running.
   * `transport` builds the peer transport once the member knows its ID and members, before raft
   * starts (the cluster layer: cluster-start.ts); without it the member has no peers.
   */
  static async start(cfg: ServerConfig, opts: { deferPublish?: boolean; cluster?: ClusterBootstrap; listeners?: ServerListener[]; transport?: (s: EtcdServer) => Promise<Transport | undefined> } = {}): Promise<EtcdServer> {
    const memberDir = join(cfg.dataDir, 'member');
    await mkdir(memberDir, { recursive: true });
    const listeners = new ServerListeners();
    for (const l of opts.listeners ?? []) listeners.add(l);
    const store = MvccStore.openDir(cfg.dataDir, {
      unsafeNoFsync: cfg.unsafeNoFsync,
      batchIntervalMs: cfg.backendBatchIntervalMs || undefined,
      batchLimitOps: cfg.backendBatchLimit || undefined,
      compactionBatchKeys: cfg.compactionBatchLimit || undefined,
      onCommit: (sec) => listeners.backendCommit(sec),
    });
    await store.restored;
    const s = new EtcdServer(cfg, store, opts.deferPublish === true, listeners);
    s.clusterBoot = opts.cluster;
    try {
      await s.boot(opts.transport);
    } catch (e) {
      s.hub.close();
      await store.close().catch(() => undefined);
      throw e;
    }
    return s;
  }

  private async boot(transport: ((s: EtcdServer) => Promise<Transport | undefined>) | undefined): Promise<void> {
    const cfg = this.cfg;
    await this.restoreBackendState();
    const boot = await bootRaft(cfg, this.cluster, this.clusterBoot);
    const applied = boot.snapshotIndex;
    this.appliedIndex = applied;
    // entries at or below the backend's consistent index were applied before the restart
    const ci = this.store.consistentIndex();
    if (ci < applied) {
      await boot.wal.close().catch(() => undefined);
      throw new Error(`etcdserver: backend consistent index ${ci} is behind the raft snapshot at ${applied}`);
    }
    this.skipUpTo = ci;
    // the v2 store is in memory: the snapshot's, then every entry after it (replayed in applyEntries)
    this.v2.recover(boot.snapshotData);
    this.idGen = new IdGenerator(this.memberId);
    let peers: Transport | undefined;
    try {
      peers = await transport?.(this);
    } catch (e) {
      await boot.wal.close().catch(() => undefined);
      throw e;
    }
    this.raft = new RaftNode(
      boot,
      applied,
      {
        memberId: this.memberId,
        electionTicks: this.electionTicks(),
        heartbeatIntervalMs: cfg.heartbeatIntervalMs,
        preVote: cfg.preVote ?? false,
        snapshotCount: cfg.snapshotCount,
        snapshotCatchUpEntries: cfg.snapshotCatchUpEntries ?? defaults.snapshotCatchUpEntries,
        maxWals: cfg.maxWals ?? defaults.maxWals,
        purgeIntervalMs: cfg.purgeIntervalMs ?? defaults.purgeIntervalMs,
        log: this.log,
      },
      {
        onSoftState: (ss) => this.onSoftState(ss),
        onReadState: (rs) => this.reads.onReadState(rs),
        apply: (snap, ents) => this.applyReady(snap, ents),
        appliedIndex: () => this.appliedIndex,
        snapshotData: () => this.v2.snapshotData(),
        proposalsDropped: (batch) => this.proposalsDropped(batch),
        commitBackend: () => this.store.backend.commitDurable(),
        onFatal: (e) => this.fatal(e),
        onWalFsync: (sec) => this.listeners.walFsync(sec),
      },
      peers && this.countingAppends(peers),
    );
    this.waits.startExpiry(proposalExpiryCheckMs, () => Errors.timeout(), (n) => (this.stats.proposalsFailed += n));
    this.lessor.startExpiry({
      revoke: (id) => this.proposeRaw({ leaseRevoke: { ID: id } }),
      checkpoint: (cps) => this.proposeRaw({ leaseCheckpoint: { checkpoints: cps.map((c) => ({ ID: c.id, remainingTTL: BigInt(c.remainingTtlSeconds) })) } }),
    });
    this.v2.startSync(
      () => this.isLeaderNow,
      (r) => void this.proposeV2(r).catch(() => undefined),
    );
    this.raft.start();
  }

  /** entries with index <= this were applied to the backend before a restart */
  private skipUpTo = 0;
  private clusterBoot: ClusterBootstrap | undefined;

  private async restoreBackendState(): Promise<void> {
    const b = this.store.backend;
    for (const [, v] of b.rangeAux(Buckets.lease)) this.lessor.restore(decodeLeaseRecord(v));
    // re-attach keys to their leases
    for (const { key, lease } of this.store.takeRestoredLeasedKeys()) if (this.lessor.lookup(lease)) this.lessor.attach(lease, key);
    this.cluster.recover(b);
  }

  /** Runs the purge job now (tests; the job also runs every purgeIntervalMs). */
  purgeNow(): Promise<void> {
    return this.raft.purgeFiles();
  }

  /** Members this member knows of (from its data, or the bootstrap plan before it is applied). */
  knownMemberCount(): number {
    return Math.max(this.cluster.size, this.clusterBoot?.members.length ?? 0);
  }

  /** etcd's advanceTicks: fast-forwards the election clock (initial election tick advance). */
  advanceTicks(n: number): void {
    if (this.stopped) return;
    this.raft.advanceTicks(n);
  }

  private onSoftState(ss: SoftState): void {
    if (ss.lead !== this.lead) {
      this.ownProposals.clear();
      if (ss.lead !== 0n) this.stats.leaderChanges++;
      this.log.info(ss.lead === 0n ? 'raft.node lost leader' : 'raft.node elected leader', {
        'local-member-id': idToHex(this.memberId),
        'leader-member-id': idToHex(ss.lead),
        term: this.raft.status().term,
      });
    }
    const changed = ss.lead !== this.lead;
    if (changed) this.leaderSinceNs = BigInt(Date.now()) * 1_000_000n;
    this.lead = ss.lead;
    if (changed && ss.lead !== 0n && this.undelivered.size > 0) this.reproposeUndelivered();
    const leader = ss.state === 'Leader';
    if (leader && !this.isLeaderNow) {
      this.isLeaderNow = true;
      this.lessor.promote(this.cfg.electionTimeoutMs);
    } else if (!leader && this.isLeaderNow) {
      this.isLeaderNow = false;
      this.lessor.demote();
    }
  }

  /** Proposals raft refused: while there is no leader they wait for one (until their request times out). */
  private proposalsDropped(batch: Buffer[]): Buffer[] {
    if (this.lead === 0n && !this.stopped) {
      // like etcd's raft node; the next Ready tries again
      return batch.filter((data) => this.waits.isRegistered(requestIdOf(data)));
    }
    for (const data of batch) {
      const id = requestIdOf(data);
      this.stats.proposalsFailed++;
      this.waits.fail(id, Errors.proposalDropped());
    }
    return [];
  }

  // ---- applying ----

  /** One Ready's snapshot and committed entries, its writes durable. */
  private async applyReady(snap: Snapshot | undefined, ents: Entry[]): Promise<void> {
    if (snap) await this.applySnapshotDb(snap.metadata.index, snap.data);
    if (ents.length > 0) this.applyEntries(ents);
    this.afterApply();
  }

  private applyEntries(ents: Entry[]): void {
    for (const e of ents) {
      assert(e.index === this.appliedIndex + 1, `apply gap: ${this.appliedIndex} then ${e.index}`);
      if (e.type === EntryType.ConfChange) {
        this.applyConfChange(e);
      } else if (e.index > this.skipUpTo && e.data.length > 0) {
        this.applyNormal(e);
      } else if (e.data.length > 0 && touchesV2Store(e.data)) {
        // applied to the backend before a restart: only the in-memory v2 store needs it again
        this.v2.replay(decodeRequest(e.data));
      }
      this.appliedIndex = e.index;
      if (e.index > this.skipUpTo) this.store.setConsistentIndex(e.index);
    }
  }

  private applyNormal(e: Entry): void {
    let req = this.ownProposals.get(e.data);
    if (req === undefined) req = decodeRequest(e.data);
    else this.ownProposals.delete(e.data);
    const id = req.header?.ID ?? req.ID;
    this.stats.proposalsCommitted++;
    const t0 = performance.now();
    let result: ApplyResult;
    if (req.v2) {
      result = this.v2.apply(req.v2);
    } else if (req.clusterMemberAttrSet) {
      this.applyMemberAttrs(req.clusterMemberAttrSet);
      this.v2.memberAttributes(req.clusterMemberAttrSet);
      result = { resp: undefined };
    } else if (req.clusterVersionSet) {
      this.applyClusterVersion(req.clusterVersionSet.ver);
      this.v2.clusterVersion(req.clusterVersionSet.ver);
      result = { resp: undefined };
    } else {
      result = this.applier.apply(req);
    }
    if (warnIfSlowApply(this.log, this.cfg.warningApplyDurationMs ?? defaults.warningApplyDurationMs, t0, req, result.err)) this.stats.slowApplies++;
    this.stats.proposalsApplied++;
    if (result.err) this.stats.proposalsFailed++;
    if ((result.err as { code?: string } | undefined)?.code === 'ERR_NO_SPACE' && !this.applier.hasAlarm(etcdserverpb.AlarmType.NOSPACE)) {
      this.raiseNoSpaceAlarm(id, result);
      return;
    }
    this.waits.trigger(id, result);
  }

  /**
   * etcd's applyEntryNormal: a write the applier found over the quota raises the NOSPACE alarm
   * through raft (unless it is already raised), and its caller is answered once that is done.
   */
  private raiseNoSpaceAlarm(id: bigint, result: ApplyResult): void {
    this.log.warn('message exceeded backend quota; raising alarm', {
      'quota-size-bytes': backendQuotaBytes(this.cfg),
      'current-db-size-bytes': this.store.backend.size(),
    });
    const alarm = { action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE, memberID: this.memberId, alarm: etcdserverpb.AlarmType.NOSPACE };
    this.propose({ alarm })
      .catch(() => undefined)
      .finally(() => this.waits.trigger(id, result));
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.raft.applyConfChange(cc);
    if (e.index > this.skipUpTo) this.cluster.applyConfChange(cc);
    const m = this.cluster.member(cc.nodeId);
    this.v2.confChange(cc, m && { peerUrls: m.peerUrls, isLearner: m.isLearner });
    this.listeners.confChangeApplied(cc);
  }

  /** the v2 store (read by the v2 API; written only by applying entries) */
  get v2store(): V2Store {
    return this.v2.store;
  }

  /**
   * Proposes a v2 request (PUT, POST, DELETE, QGET, SYNC) through raft; resolves with its apply
   * result: `{ resp: { event } }` or `{ err }` (a V2Error, or the proposal's own failure).
   */
  proposeV2(r: Partial<V2Request>): Promise<ApplyResult> {
    return this.proposeRaw({ v2: tsetcdpb.Request.fromPartial(r) });
  }

  /** users, roles, permissions and tokens (etcd's AuthStore()) */
  get auth(): AuthStore {
    return this.applier.auth;
  }

  /** the storage backend (etcd's Backend()): sizes, hashes, defragmentation, snapshots */
  get backend(): Backend {
    return this.store.backend;
  }

  /** active alarms (etcd's Alarms()) */
  alarmList(): ReturnType<Applier['alarmList']> {
    return this.applier.alarmList();
  }

  /** Adds a listener (parts built after the server: the cluster layer, metrics); returns its removal. */
  addListener(l: ServerListener): () => void {
    return this.listeners.add(l);
  }

  private applyMemberAttrs(r: tsetcdpb.ClusterMemberAttrSetRequest): void {
    const m = this.cluster.setAttributes(r.memberID, r.memberAttributes);
    if (m !== undefined) this.publisher.memberAttributesApplied(m);
  }

  private applyClusterVersion(ver: string): void {
    this.cluster.setVersion(ver);
    this.publisher.versionApplied();
  }

  /** Work that depends on the applied index: reads waiting for it, first campaign, publishing. */
  private afterApply(): void {
    this.reads.onApplied(this.appliedIndex);
    if (!this.isLeaderNow && this.lead === 0n) {
      const st = this.raft.status();
      // a one-member cluster need not wait an election timeout to elect itself
      if (st.state === 'Follower' && st.confState.voters.length === 1 && st.confState.voters[0] === this.memberId) this.raft.campaign();
    }
    this.publisher.afterApply({ isLeader: this.isLeaderNow, lead: this.lead, applied: this.appliedIndex, committed: this.raft.commit });
  }

  /** Lets the member publish its attributes (the embedder calls it once client URLs are bound). */
  allowPublish(): void {
    if (this.stopped || !this.publisher.allow()) return;
    this.afterApply();
    this.raft.wake();
  }

  // ---- proposing ----

  /** Proposes a request through raft and resolves with its apply result (response or etcd error). */
  propose(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<unknown> {
    return this.proposeRaw(r, responseOf);
  }

  /** Like propose(), also giving the physical-compaction promise of a compaction. */
  async proposeFull(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<ApplyResult> {
    const res = await this.proposeRaw(r);
    if (res.err) throw res.err;
    return res;
  }

  private proposeRaw(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<ApplyResult>;
  /** The request's apply result passed through `answer` (its throw rejects). */
  private proposeRaw<U>(r: Partial<tsetcdpb.InternalRaftRequest>, answer: (res: ApplyResult) => U): Promise<U>;
  private proposeRaw(r: Partial<tsetcdpb.InternalRaftRequest>, answer?: (res: ApplyResult) => unknown): Promise<unknown> {
    if (this.stopped) return Promise.reject(Errors.stopped());
    const id = this.idGen.next();
    // sub-requests are complete messages already (decoded from the wire or built here): no deep copy
    // the authenticated caller (auth enabled), for the applier's permission checks
    const caller = currentCaller();
    // every request has the same full shape, which keeps the generated encoder monomorphic (a
    // partial object per request type made it slower than the copy costs)
    const msg = fullRequest(r, { ID: id, username: caller?.user ?? '', authRevision: caller?.authRevision ?? 0n });
    // a v2 request carries its ID itself too (etcd's Request.ID)
    if (msg.v2 !== undefined) msg.v2 = { ...msg.v2, ID: id };
    return this.proposeMessage(id, msg, tsetcdpb.InternalRaftRequest, answer);
  }

  /**
   * propose({ put }) as the busiest proposal is made: the message holds only its header and the
   * put (the applier reads absent fields as undefined, as in a full one), encoded by putProposal.
   */
  proposePut(put: etcdserverpb.PutRequest): Promise<etcdserverpb.PutResponse> {
    if (this.stopped) return Promise.reject(Errors.stopped());
    const id = this.idGen.next();
    const caller = currentCaller();
    const msg: PutProposal = { header: { ID: id, username: caller?.user ?? '', authRevision: caller?.authRevision ?? 0n }, ID: 0n, put };
    return this.proposeMessage(id, msg as tsetcdpb.InternalRaftRequest, putProposal, this.putAnswer) as Promise<etcdserverpb.PutResponse>;
  }

  /** An applied put's response with its header filled, as the KV API answers it (its error thrown). */
  private readonly putAnswer = (res: ApplyResult): etcdserverpb.PutResponse => {
    if (res.err) throw res.err;
    const resp = res.resp as etcdserverpb.PutResponse;
    resp.header = this.header(resp.header?.revision);
    return resp;
  };

  /** Encodes the message into the log's entry slab, registers its waiter and hands it to raft. */
  private proposeMessage<M extends tsetcdpb.InternalRaftRequest | PutProposal>(id: bigint, msg: M, type: Encodes<M>, answer: ((res: ApplyResult) => unknown) | undefined): Promise<unknown> {
    const length = proposalWriter.encodeLength(type, msg);
    const data = copyEntryDataToBuffer(proposalWriter.scratch, length);
    if (data.length > this.cfg.maxRequestBytes) return Promise.reject(Errors.requestTooLarge());
    if (this.ownProposals.size >= ownProposalsLimit) this.ownProposals.clear();
    this.ownProposals.set(data, msg as tsetcdpb.InternalRaftRequest);
    const p = this.waits.registerAnswer(id, performance.now() + this.requestTimeoutMs(), answer);
    this.raft.propose(data);
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
   * A MsgSnap with the leader's database (written to `file`): the database is staged, then the
   * message goes to raft; the database is installed when raft hands the snapshot out (Ready).
   */
  async receiveSnapshot(m: Message, file: string): Promise<void> {
    if (this.stopped) throw Errors.stopped();
    await this.installer.stage(m, file, this.appliedIndex);
    this.step(m);
  }

  /** etcd's applySnapshot: replace the backend's content, rebuild what derives from it. */
  private async applySnapshotDb(idx: number, v2data: Uint8Array): Promise<void> {
    if (idx <= this.appliedIndex) return;
    const ci = await this.installer.install(idx, this.appliedIndex);
    this.v2.recover(v2data);
    this.appliedIndex = idx;
    this.skipUpTo = Math.max(this.skipUpTo, ci);
    // membership may have changed: let the cluster layer resync its peers
    this.listeners.confChangeApplied({ type: ConfChangeType.UpdateNode, nodeId: 0n, context: new Uint8Array(0) });
  }

  /** A raft message from a peer. */
  step(m: Message): void {
    if (this.stopped || this.raft === undefined) return;
    if (m.type === MessageType.MsgApp) this.stats.appendRequestsReceived++;
    else if (m.type === MessageType.MsgHeartbeatResp) this.leaderStats.heartbeatAnswered(m.from);
    this.raft.step(m);
  }

  /**
   * The peer transport, counting the append requests it is given (etcd's ServerStats,
   * /v2/stats/self) and timing heartbeats (the leader's follower stats, /v2/stats/leader).
   */
  private countingAppends(peers: Transport): Transport {
    return {
      send: (msgs) => {
        for (const m of msgs) {
          if (m.type === MessageType.MsgApp) this.stats.appendRequestsSent++;
          else if (m.type === MessageType.MsgHeartbeat) this.leaderStats.heartbeatSent(m.to);
        }
        peers.send(msgs);
      },
    };
  }

  reportUnreachable(id: bigint): void {
    if (this.stopped || this.raft === undefined) return;
    if (this.isLeaderNow) this.leaderStats.unreachable(id);
    this.raft.reportUnreachable(id);
  }

  /** A proposal forwarded to leader `m.to` that never left (its address refused the connection). */
  proposalUndelivered(m: Message): void {
    if (this.stopped || this.raft === undefined) return;
    this.undelivered.hold(m);
    // another leader is known already: no need to wait for the next change
    if (this.lead !== 0n && this.lead !== m.to) this.reproposeUndelivered();
  }

  private reproposeUndelivered(): void {
    const again = this.undelivered.release();
    if (again.length === 0) return;
    this.log.info('proposing again what the previous leader never received', { 'local-member-id': idToHex(this.memberId), 'leader-member-id': idToHex(this.lead), proposals: again.length });
    for (const data of again) this.raft.propose(data);
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    if (this.stopped || this.raft === undefined) return;
    this.raft.reportSnapshot(id, ok);
  }

  /** Asks raft to hand leadership to `id` (MoveLeader). */
  transferLeadership(id: bigint): void {
    if (this.stopped) throw Errors.stopped();
    this.raft.transferLeader(id);
  }

  /** Proposes a membership change; the caller waits for it through a listener's confChangeApplied. */
  proposeConfChange(cc: ConfChange): void {
    if (this.stopped) throw Errors.stopped();
    this.raft.proposeConfChange(cc);
  }

  /** the applied state as a snapshot to send with a copy of the database taken right after (see RaftNode) */
  snapshotAtApplied(): Snapshot {
    return this.raft.snapshotAtApplied();
  }

  raftStatus(): Status {
    return this.raft.status();
  }

  // ---- status ----

  header(revision?: bigint): etcdserverpb.ResponseHeader {
    return {
      clusterId: this.clusterId,
      memberId: this.memberId,
      revision: revision ?? this.store.currentRevision(),
      raftTerm: BigInt(this.raft.term),
    };
  }

  isLeader(): boolean {
    return this.isLeaderNow;
  }

  leader(): bigint {
    return this.lead;
  }

  raftTerm(): number {
    return this.raft.term;
  }

  raftIndex(): number {
    return this.raft.commit;
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
    this.listeners.fatal(this.fatalError);
  }

  /** Stops raft, lets the in-flight Ready finish (its applies land), closes WAL and backend. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      this.stopped = true;
      const raftStopped = this.raft.stop();
      this.lessor.stopExpiry();
      this.v2.stopSync();
      this.waits.stopExpiry();
      await raftStopped;
      const stopped = Errors.stopped();
      this.waits.failAll(stopped);
      this.reads.close(stopped);
      this.publisher.close(stopped);
      this.hub.close();
      await this.raft.closeWal();
      await this.store.close();
    })();
    return this.closing;
  }

  get fatalCause(): Error | undefined {
    return this.fatalError;
  }
}

/** The request ID a proposal's InternalRaftRequest carries (0 when none). */
function requestIdOf(data: Uint8Array): bigint {
  return tsetcdpb.InternalRaftRequest.decode(data).header?.ID ?? 0n;
}
