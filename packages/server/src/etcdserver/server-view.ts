// The member as the client API (api/) sees it, in named parts as etcd's api/v3rpc sees its
// EtcdServer (RaftKV, Lessor, Authenticator, RaftStatusGetter, ClusterInfo, BackendGetter,
// Watchable): proposing, the linearizable-read barrier, response headers, a read view for
// Range and read-only Txn, lease lookups, watch streams, member lists, maintenance and status.
// Nothing of raft's driving, the peer transport, boot or shutdown, and no store, applier,
// lessor or watch hub object: serverView() builds these parts over an EtcdServer.

import type { etcdserverpb, tsetcdpb } from '@tsetcd/proto';
import type { EtcdServer } from './server.js';
import type { ServerConfig, ServerLogger } from './config.js';
import type { ServerListener } from './server-listener.js';
import type { AlarmRecord, ApplyResult } from '../apply/applier.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { RequestPermissions } from '../auth/request-permissions.js';
import type { MemberInfo } from '../membership/raft-cluster.js';
import type { HashKVResult } from '../mvcc/store.js';
import { WatchStream, type WatchStreamOptions } from '../watch/watch-stream.js';
import { etcdBackendHash } from '../bolt/etcd-hash.js';
import { createEtcdSnapshot, type EtcdSnapshotFile } from '../bolt/etcd-snapshot.js';
import { dirname } from 'node:path';

/** The settings the API enforces (read live: the embedder may still change the config). */
export type ApiLimits = Readonly<Pick<ServerConfig, 'maxTxnOps' | 'maxRequestBytes' | 'quotaBackendBytes'>>;

/** Writes through raft and the reads beside them (etcd's RaftKV, with its ReadIndex barrier). */
export interface RaftKV {
  /** Proposes a request through raft; resolves with its response, or rejects with its etcd error. */
  /** propose({ put }) with a lighter message, answered with the response's header already filled (header()). */
  proposePut(r: etcdserverpb.PutRequest): Promise<etcdserverpb.PutResponse>;
  propose(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<unknown>;
  /** Like propose(), also giving a compaction's physical-compaction promise. */
  proposeFull(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<ApplyResult>;
  /** a fresh request ID (etcd's reqIDGen), e.g. for a lease granted without one */
  nextId(): bigint;
  /** Resolves once the applied state reflects every write committed before the call. */
  linearizableReadNotify(): Promise<void>;
  /** Range over the applied state (take the barrier first for a linearizable read). */
  range(r: etcdserverpb.RangeRequest): etcdserverpb.RangeResponse;
  /** A Txn without writes, over the applied state (take the barrier first when linearizable). */
  readTxn(r: etcdserverpb.TxnRequest): etcdserverpb.TxnResponse;
  /** the response header at `revision` (default: the current one) */
  header(revision?: bigint): etcdserverpb.ResponseHeader;
  currentRevision(): bigint;
  hashKV(revision: bigint): Promise<HashKVResult>;
  /** etcd's request timeout: how long a proposal may wait to be applied */
  requestTimeoutMs(): number;
}

/** One lease as LeaseTimeToLive and the permission checks read it. */
export interface LeaseStatus {
  grantedTtlSeconds: number;
  /** ms until expiry (Infinity on a member that is not the leader) */
  remainingMs: number;
  keys(): Buffer[];
}

/** Leases (etcd's Lessor as v3rpc sees it). */
export interface LeaseView {
  /** Renews `id` on the leader; returns its TTL in seconds (throws ERR_LEASE_NOT_FOUND / not leader). */
  leaseRenew(id: bigint): number;
  leaseLookup(id: bigint): LeaseStatus | undefined;
  leaseIds(): bigint[];
  leaseCount(): number;
}

/** Watching (etcd's Watchable: NewWatchStream). */
export interface WatchableView {
  newWatchStream(o: Omit<WatchStreamOptions, 'hub'>): WatchStream;
  watcherCount(): number;
  watchStreamCount(): number;
}

/** Users, roles and their checks (etcd's AuthGetter). */
export interface AuthView {
  readonly auth: AuthStore;
  /** the permissions each request needs (the same rules the applier checks) */
  readonly authRequests: RequestPermissions;
}

/** The members this member has applied (etcd's ClusterInfo / api.Cluster). */
export type ClusterInfo = Pick<EtcdServer['cluster'], 'member' | 'members' | 'size' | 'version'>;

/** Who the member is and how raft stands (etcd's RaftStatusGetter). */
export interface RaftStatusView {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly cluster: ClusterInfo;
  /** whether this member is a learner (etcd 3.4: a learner serves only Status and serializable Range) */
  isLearner(): boolean;
  isLeader(): boolean;
  /** the leader's ID, 0 while there is none */
  leader(): bigint;
  isStopped(): boolean;
  raftTerm(): number;
  raftIndex(): number;
  raftAppliedIndex(): number;
}

/** The backend and alarms (etcd's BackendGetter, Alarmer, Defrag). */
export interface MaintenanceView {
  readonly log: ServerLogger;
  dbSize(): number;
  dbSizeInUse(): number;
  defragment(): Promise<void>;
  /** etcd's Maintenance.Hash over the whole backend */
  backendHash(): Promise<number>;
  /** the backend as etcd's snapshot file (one point in time) */
  snapshot(): Promise<EtcdSnapshotFile>;
  alarmList(): AlarmRecord[];
}

/** What /metrics reads. */
export interface MetricsView {
  readonly stats: EtcdServer['stats'];
  pendingCount(): number;
  compactRevision(): bigint;
  keyCount(): number;
  mvccOpCounts(): Readonly<{ range: number; put: number; delete: number; txn: number }>;
  addListener(l: ServerListener): () => void;
}

/** The member as api/ sees it. */
export interface ServerView extends RaftKV, LeaseView, WatchableView, AuthView, RaftStatusView, MaintenanceView, MetricsView {
  readonly cfg: ApiLimits;
}

/** The API's view of `s` (one per server; every part reads `s` live). */
export function serverView(s: EtcdServer): ServerView {
  const { store, applier, lessor, hub } = s;
  return {
    cfg: s.cfg,
    log: s.log,
    cluster: s.cluster,
    auth: applier.auth,
    authRequests: applier.authRequests,
    stats: s.stats,
    get memberId() {
      return s.memberId;
    },
    get clusterId() {
      return s.clusterId;
    },
    // RaftKV
    propose: (r) => s.propose(r),
    proposePut: (r) => s.proposePut(r),
    proposeFull: (r) => s.proposeFull(r),
    nextId: () => s.nextId(),
    linearizableReadNotify: () => s.linearizableReadNotify(),
    range: (r) => applier.range(store.read(), r),
    readTxn: (r) => applier.txn(r),
    header: (rev) => s.header(rev),
    currentRevision: () => store.currentRevision(),
    hashKV: (rev) => store.hashKV(rev),
    requestTimeoutMs: () => s.requestTimeoutMs(),
    // leases
    leaseRenew: (id) => s.leaseRenew(id),
    leaseLookup: (id) => {
      const l = lessor.lookup(id);
      return l === undefined ? undefined : { grantedTtlSeconds: l.ttlSeconds, remainingMs: lessor.remainingMs(l), keys: () => l.keyBuffers() };
    },
    leaseIds: () => lessor.list().map((l) => l.id),
    leaseCount: () => lessor.size,
    // watching
    newWatchStream: (o) => new WatchStream({ ...o, hub }),
    watcherCount: () => hub.watcherCount(),
    watchStreamCount: () => hub.streamCount(),
    // status
    isLearner: () => s.cluster.member(s.memberId)?.isLearner ?? false,
    isLeader: () => s.isLeader(),
    leader: () => s.leader(),
    isStopped: () => s.isStopped(),
    raftTerm: () => s.raftTerm(),
    raftIndex: () => s.raftIndex(),
    raftAppliedIndex: () => s.raftAppliedIndex(),
    // maintenance
    dbSize: () => s.backend.size(),
    dbSizeInUse: () => s.backend.sizeInUse(),
    defragment: () => s.backend.defragment(),
    backendHash: () => etcdBackendHash(s.backend),
    snapshot: () => createEtcdSnapshot(s.backend, dirname(s.backend.path)),
    alarmList: () => s.alarmList(),
    // metrics
    pendingCount: () => s.pendingCount(),
    compactRevision: () => store.compactRevision(),
    keyCount: () => store.liveKeys,
    mvccOpCounts: () => store.opCounts,
    addListener: (l) => s.addListener(l),
  };
}
