// Prometheus metrics of one member, with etcd's metric names where they exist. One registry per
// member (several members can live in one process, e.g. in tests).

import { Registry, Gauge, Counter, Histogram } from 'prom-client';
import type { ServerView } from '../etcdserver/server-view.js';
import { backendQuotaBytes, serverVersion } from '../etcdserver/config.js';
import { registerProcessMetrics } from './process-metrics.js';

export function createMetrics(s: ServerView): Registry {
  const reg = new Registry();
  registerProcessMetrics(reg);
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({ name, help, registers: [reg], collect() { this.set(value()); } });
  const counter = (name: string, help: string, value: () => number) =>
    new Counter({ name, help, registers: [reg], collect() { this.reset(); this.inc(value()); } });
  gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (s.leader() !== 0n ? 1 : 0));
  gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (s.isLeader() ? 1 : 0));
  counter('etcd_server_leader_changes_seen_total', 'The number of leader changes seen.', () => s.stats.leaderChanges);
  counter('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => s.stats.proposalsCommitted);
  counter('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', () => s.stats.proposalsApplied);
  counter('etcd_server_slow_apply_total', 'The total number of slow apply requests (likely overloaded from slow disk).', () => s.stats.slowApplies);
  counter('etcd_server_proposals_failed_total', 'The total number of failed proposals seen.', () => s.stats.proposalsFailed);
  gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', () => s.pendingCount());
  gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => s.dbSize());
  gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', () => s.dbSizeInUse());
  gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => Number(s.currentRevision()));
  gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => Number(s.compactRevision()));
  gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', () => s.keyCount());
  gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', () => s.watcherCount());
  gauge('etcd_debugging_mvcc_watch_stream_total', 'Total number of watch streams.', () => s.watchStreamCount());
  counter('etcd_mvcc_range_total', 'Total number of ranges seen by this member.', () => s.mvccOpCounts().range);
  counter('etcd_mvcc_put_total', 'Total number of puts seen by this member.', () => s.mvccOpCounts().put);
  counter('etcd_mvcc_delete_total', 'Total number of deletes seen by this member.', () => s.mvccOpCounts().delete);
  counter('etcd_mvcc_txn_total', 'Total number of txns seen by this member.', () => s.mvccOpCounts().txn);
  gauge('etcd_debugging_lease_total', 'The number of leases.', () => s.leaseCount());
  const fsync = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'The latency distributions of fsync called by WAL.',
    buckets: Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i),
    registers: [reg],
  });
  s.addListener({ walFsync: (sec) => fsync.observe(sec) });
  const backendCommit = new Histogram({
    name: 'etcd_disk_backend_commit_duration_seconds',
    help: 'The latency distributions of commit called by backend.',
    buckets: Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i),
    registers: [reg],
  });
  s.addListener({ backendCommit: (sec) => backendCommit.observe(sec) });
  const ver = new Gauge({ name: 'etcd_server_version', help: 'Which version is running. 1 for \'server_version\' label with current version.', labelNames: ['server_version'], registers: [reg] });
  ver.set({ server_version: serverVersion }, 1);
  new Gauge({
    name: 'etcd_cluster_version',
    help: 'Which version is running. 1 for \'cluster_version\' label with current cluster version',
    labelNames: ['cluster_version'],
    registers: [reg],
    collect() {
      this.reset();
      if (s.cluster.version) this.set({ cluster_version: s.cluster.version.split('.').slice(0, 2).join('.') }, 1);
    },
  });
  new Gauge({
    name: 'etcd_server_id',
    help: 'Server or member ID in hexadecimal format. 1 for \'server_id\' label with current ID.',
    labelNames: ['server_id'],
    registers: [reg],
    collect() {
      this.reset();
      this.set({ server_id: s.memberId.toString(16) }, 1);
    },
  });
  gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => backendQuotaBytes(s.cfg) ?? s.cfg.quotaBackendBytes);
  return reg;
}
