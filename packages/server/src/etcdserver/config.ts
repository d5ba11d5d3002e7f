// The server's configuration: etcd's flags as typed fields with etcd's defaults.

export interface ServerLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: ServerLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** etcd's defaults. */
export const defaults = {
  name: 'default',
  listenClientUrls: ['http://localhost:2379'],
  advertiseClientUrls: ['http://localhost:2379'],
  listenPeerUrls: ['http://localhost:2380'],
  initialAdvertisePeerUrls: ['http://localhost:2380'],
  initialClusterToken: 'etcd-cluster',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 100_000,
  /** entries kept in the raft log behind a snapshot for slow followers (etcd snapshotCatchUpEntries) */
  snapshotCatchUpEntries: 5000,
  maxTxnOps: 128,
  maxRequestBytes: 1.5 * 1024 * 1024,
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  /** etcd's request timeout: 5s + 2 * election timeout */
  requestTimeoutBaseMs: 5000,
  /** etcd --experimental-warning-apply-duration */
  warningApplyDurationMs: 100,
  /** etcd's leaseCheckpointInterval */
  leaseCheckpointIntervalMs: 5 * 60 * 1000,
  /** etcd --max-snapshots, --max-wals */
  maxSnapshots: 5,
  maxWals: 5,
  /** etcd purges old snap/WAL files every 30 s */
  purgeIntervalMs: 30_000,
} as const;

/** etcd accepts this much on top of --max-request-bytes at the gRPC layer (grpcOverheadBytes). */
export const grpcOverheadBytes = 512 * 1024;

/** The version tsetcd reports (etcdctl and clients check it); the cluster version is its major.minor. */
export const serverVersion = '3.4.23';
export const clusterVersion = '3.4.0';

export interface ServerConfig {
  name: string;
  dataDir: string;
  /** defaults to <dataDir>/member/wal */
  walDir?: string;
  advertiseClientUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialClusterToken: string;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  snapshotCount: number;
  /** raft entries kept behind a snapshot for slow followers (etcd --experimental-snapshot-catchup-entries) */
  snapshotCatchUpEntries?: number;
  maxTxnOps: number;
  maxRequestBytes: number;
  /** etcd --quota-backend-bytes: 0 means the default (2 GiB), below 0 disables the quota */
  quotaBackendBytes: number;
  /** watch progress_notify interval (etcd: 10 minutes; tests shorten it) */
  watchProgressNotifyIntervalMs?: number;
  /** etcd --unsafe-no-fsync: WAL and backend skip fsync (data may be lost on a machine crash) */
  unsafeNoFsync?: boolean;
  /** etcd --experimental-enable-lease-checkpoint / -persist; interval (etcd: 5 minutes, not a flag) */
  leaseCheckpoint?: boolean;
  leaseCheckpointPersist?: boolean;
  leaseCheckpointIntervalMs?: number;
  /** etcd --experimental-warning-apply-duration: applies slower than this are logged */
  warningApplyDurationMs?: number;
  /** etcd --strict-reconfig-check (default true): refuse membership changes that risk quorum */
  strictReconfigCheck?: boolean;
  /** etcd --pre-vote (default false) */
  preVote?: boolean;
  /** etcd --force-new-cluster: restart from this data dir as a one-member cluster */
  forceNewCluster?: boolean;
  /** etcd --max-snapshots / --max-wals: old files kept (0 keeps all; default 5) */
  maxSnapshots?: number;
  maxWals?: number;
  /** how often old snapshot and WAL files are purged (etcd: every 30 s) */
  purgeIntervalMs?: number;
  /** WAL segment size (etcd: 64 MiB; tests use small segments) */
  walSegmentBytes?: number;
  /** etcd --backend-batch-interval (ms) / --backend-batch-limit (ops); 0: the backend's defaults, 100 ms / 10000 */
  backendBatchIntervalMs?: number;
  backendBatchLimit?: number;
  /** etcd --experimental-compaction-batch-limit: keys compacted per backend batch */
  compactionBatchLimit?: number;
  logger: ServerLogger;
}

/** The backend quota in force (etcd's NewBackendQuota): undefined when disabled (below 0), the default for 0. */
export function backendQuotaBytes(cfg: Pick<ServerConfig, 'quotaBackendBytes'>): number | undefined {
  if (cfg.quotaBackendBytes < 0) return undefined;
  return cfg.quotaBackendBytes === 0 ? defaults.quotaBackendBytes : cfg.quotaBackendBytes;
}
