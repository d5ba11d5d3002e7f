// The flags that tune a member's raft, storage, checks and logging: from parsed flag values to
// startServer options, the warnings etcd prints for them, and the modes tsetcd refuses.

import type { StartServerOptions } from '../embed/index.js';
import type { FlagValues } from './flags.js';

const positive = (v: unknown): number | undefined => (Number(v) > 0 ? Number(v) : undefined);

/** startServer options for the raft, recovery, storage and consistency-check flags. */
export function memberBehaviourOptions(v: FlagValues): Partial<StartServerOptions> {
  return {
    preVote: Boolean(v['pre-vote']),
    strictReconfigCheck: Boolean(v['strict-reconfig-check']),
    enableGrpcGateway: Boolean(v['enable-grpc-gateway']),
    warningApplyDurationMs: Number(v['experimental-warning-apply-duration']),
    discoverySrv: String(v['discovery-srv'] || '') || undefined,
    discoveryProxy: String(v['discovery-proxy'] || '') || undefined,
    discoverySrvName: String(v['discovery-srv-name'] || ''),
    leaseCheckpoint: Boolean(v['experimental-enable-lease-checkpoint']),
    leaseCheckpointPersist: Boolean(v['experimental-enable-lease-checkpoint-persist']),
    grpcKeepaliveMinTimeMs: Number(v['grpc-keepalive-min-time']),
    grpcKeepaliveIntervalMs: Number(v['grpc-keepalive-interval']),
    grpcKeepaliveTimeoutMs: Number(v['grpc-keepalive-timeout']),
    initialElectionTickAdvance: Boolean(v['initial-election-tick-advance']),
    forceNewCluster: Boolean(v['force-new-cluster']),
    maxSnapshots: Number(v['max-snapshots']),
    maxWals: Number(v['max-wals']),
    // 0 (or less) keeps the backend's defaults, as etcd does
    backendBatchIntervalMs: positive(v['backend-batch-interval']),
    backendBatchLimit: positive(v['backend-batch-limit']),
    compactionBatchLimit: positive(v['experimental-compaction-batch-limit']),
    initialCorruptCheck: Boolean(v['experimental-initial-corrupt-check']),
    corruptCheckTimeMs: positive(v['experimental-corrupt-check-time']),
    enableUi: Boolean(v['enable-ui']),
    enableV2: Boolean(v['enable-v2']),
  };
}

/** etcd 3.4's --log-output (deprecated) stands in for --log-outputs when only it is given. */
export function logOutputs(v: FlagValues, set: Set<string>): string[] {
  if (set.has('log-output') && !set.has('log-outputs')) {
    process.stderr.write("'--log-output' flag has been deprecated! Please use '--log-outputs'!\n");
    return v['log-output'] as string[];
  }
  return v['log-outputs'] as string[];
}

/** etcd's ErrConflictBootstrapFlags: one of --initial-cluster (set explicitly), --discovery, --discovery-srv. */
export function conflictingBootstrap(v: FlagValues, set: Set<string>): string | undefined {
  const n = [set.has('initial-cluster'), String(v.discovery ?? '') !== '', String(v['discovery-srv'] ?? '') !== ''].filter(Boolean).length;
  return n > 1 ? 'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"' : undefined;
}

/**
 * etcd's --discovery-fallback: a full discovery cluster with 'proxy' (the default) makes etcd a
 * v2 proxy, which tsetcd is not; the start fails with that reason. With 'exit' the error stands.
 */
export function discoveryFallback(v: FlagValues, e: Error): { warn: string; fields: Record<string, unknown>; error: string } | undefined {
  if (!/discovery: cluster is full/.test(e.message) || v['discovery-fallback'] !== 'proxy') return undefined;
  return {
    warn: 'discovery cluster is full, falling back to proxy',
    fields: { 'fallback-proxy': 'proxy', error: e.message },
    error: `${e.message}; --discovery-fallback=proxy would start etcd's v2 proxy, which tsetcd does not implement (use --discovery-fallback=exit)`,
  };
}

/** Why tsetcd refuses a --proxy mode (undefined for 'off'). */
export function refuseProxyMode(v: FlagValues): string | undefined {
  const mode = String(v.proxy);
  if (mode === 'off') return undefined;
  return `--proxy=${mode} is not supported: tsetcd does not implement etcd's v2 proxy; run tsetcd as a member (--proxy=off, with --enable-v2 for the v2 API) or use 'tsetcd grpc-proxy start' for a v3 proxy`;
}

/** Warnings printed at start for flags that tsetcd accepts but cannot honour fully. */
export function startupWarnings(v: FlagValues): Array<{ msg: string; fields?: Record<string, unknown> }> {
  const out: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const pkgLevels = String(v['log-package-levels'] ?? '');
  // etcd with --logger=zap (the only logger of tsetcd) prints this and ignores the levels
  if (pkgLevels !== '') process.stderr.write(`[WARNING] Deprecated '--log-package-levels=${pkgLevels}' flag is set; use '--logger=zap' flag instead\n`);
  const v2v3 = String(v['experimental-enable-v2v3'] ?? '');
  if (v2v3 !== '') out.push({ msg: '--experimental-enable-v2v3 is not supported: with --enable-v2 the v2 API is served from the v2 store (as etcd without --experimental-enable-v2v3)', fields: { prefix: v2v3 } });
  const freelist = String(v['experimental-backend-bbolt-freelist-type']);
  if (freelist !== 'array' && freelist !== 'map') {
    // etcd takes any value other than "map" as "array"
    out.push({ msg: 'unknown --experimental-backend-bbolt-freelist-type; using "array" (no effect: the backend is not bbolt)', fields: { 'freelist-type': freelist } });
  }
  return out;
}
