// Embedding a member from code, like Go's go.etcd.io/etcd/embed:
//   const m = await startServer({ dataDir, listenClientUrls: ['http://127.0.0.1:0'] });
//   await m.ready; ... await m.close();

import { EtcdServer } from '../etcdserver/server.js';
import { serverView } from '../etcdserver/server-view.js';
import { defaults, silentLogger, type ServerConfig, type ServerLogger } from '../etcdserver/config.js';
import { createGrpcServer } from '../api/grpc-services.js';
import { createHttpHandler, type HttpHandler } from '../api/http-handler.js';
import { createV2Handler } from '../v2http/v2-handler.js';
import { v2View } from '../etcdserver/v2-view.js';
import { createMetrics } from '../api/metrics.js';
import { grpcServerMetrics } from '../api/grpc-metrics.js';
import { clientPortListeners, type ClientPortListener } from '../grpc/index.js';
import { idToHex } from '@tsetcd/common';
import { createUiRoute } from '../ui/ui-route.js';
import { Compactor, type Retention } from '../etcdserver/compactor.js';
import { checkInitialHashKV, monitorKVHash } from '../etcdserver/corrupt-check.js';
import { adjustTicks } from '../etcdserver/tick-advance.js';
import { Wal } from '../wal/index.js';
import { join } from 'node:path';
import { planBootstrap, startClusterLayer, type ClusterLayer } from '../etcdserver/cluster-start.js';
import { withAccessControl } from '../api/access-controller.js';
import { clientTlsInfo, listenerTls, peerTlsInfo, type TlsFlags } from './tls-setup.js';
import { serveMetrics } from './serve-metrics.js';
import { clientTlsOptions } from '../tls/tls-info.js';

/** The server settings a member passes through as they are (documented in etcdserver/config.ts). */
type PassedServerSettings = Pick<
  ServerConfig,
  | 'strictReconfigCheck' | 'preVote' | 'forceNewCluster' | 'maxSnapshots' | 'maxWals' | 'purgeIntervalMs'
  | 'walSegmentBytes' | 'backendBatchIntervalMs' | 'backendBatchLimit' | 'compactionBatchLimit'
>;

export interface StartServerOptions extends TlsFlags, PassedServerSettings {
  name?: string;
  dataDir?: string;
  walDir?: string;
  listenClientUrls?: string[];
  advertiseClientUrls?: string[];
  listenPeerUrls?: string[];
  initialAdvertisePeerUrls?: string[];
  initialClusterToken?: string;
  heartbeatIntervalMs?: number;
  electionTimeoutMs?: number;
  snapshotCount?: number;
  /** etcd --experimental-snapshot-catchup-entries */
  snapshotCatchUpEntries?: number;
  maxTxnOps?: number;
  maxRequestBytes?: number;
  quotaBackendBytes?: number;
  watchProgressNotifyIntervalMs?: number;
  /** etcd --auto-compaction-mode/--auto-compaction-retention, parsed (parseRetention) */
  autoCompaction?: Retention;
  /** client TLS (etcd --cert-file, --key-file, --trusted-ca-file, --client-cert-auth) */
  certFile?: string;
  keyFile?: string;
  trustedCaFile?: string;
  clientCertAuth?: boolean;
  /** etcd --auth-token ("simple" default, or "jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...") */
  authToken?: string;
  /** etcd --auth-token-ttl (simple tokens, default 300) and --bcrypt-cost (password hash strength, default 10) */
  authTokenTtlSeconds?: number;
  bcryptCost?: number;
  /** etcd --initial-cluster; with it the member bootstraps/joins a cluster (see cluster-start.ts) */
  initialCluster?: string;
  initialClusterState?: 'new' | 'existing';
  /** etcd --discovery: bootstrap through a v2 discovery URL instead of --initial-cluster */
  discovery?: string;
  /** peer TLS (etcd --peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth) */
  peerCertFile?: string;
  peerKeyFile?: string;
  peerTrustedCaFile?: string;
  peerClientCertAuth?: boolean;
  /** etcd --unsafe-no-fsync: WAL and backend skip fsync (a machine crash loses data; for tests) */
  unsafeNoFsync?: boolean;
  /** etcd --grpc-keepalive-min-time / -interval / -timeout (ms; defaults 5 s, 2 h, 20 s) */
  grpcKeepaliveMinTimeMs?: number;
  grpcKeepaliveIntervalMs?: number;
  grpcKeepaliveTimeoutMs?: number;
  /** etcd --experimental-enable-lease-checkpoint(-persist); the interval is etcd's 5 minutes unless set */
  leaseCheckpoint?: boolean;
  leaseCheckpointPersist?: boolean;
  leaseCheckpointIntervalMs?: number;
  /** etcd --discovery-proxy: HTTP proxy for the --discovery traffic */
  discoveryProxy?: string;
  /** etcd --discovery-srv / --discovery-srv-name: bootstrap from DNS SRV records */
  discoverySrv?: string;
  discoverySrvName?: string;
  /** etcd --experimental-warning-apply-duration (ms, default 100) */
  warningApplyDurationMs?: number;
  /** etcd --enable-grpc-gateway (default true): the JSON API under /v3/ */
  enableGrpcGateway?: boolean;
  /** etcd --initial-election-tick-advance (default true) */
  initialElectionTickAdvance?: boolean;
  /** etcd --experimental-initial-corrupt-check / --experimental-corrupt-check-time (ms; 0 off) */
  initialCorruptCheck?: boolean;
  corruptCheckTimeMs?: number;
  /** etcd --listen-metrics-urls: extra listeners for /metrics and /health only */
  listenMetricsUrls?: string[];
  /** etcd --max-concurrent-streams: HTTP/2 streams per client connection, and JSON gateway requests per listener */
  maxConcurrentStreams?: number;
  /** etcd --cors (allowed origins; default "*") and --host-whitelist (default "*") */
  cors?: string[];
  hostWhitelist?: string[];
  /** etcd --enable-v2: serve the v2 API (/v2/keys, /v2/auth, /v2/stats, /v2/machines) on the client port */
  enableV2?: boolean;
  /** serve the web dashboard at /ui/ on the client port (tsetcd --enable-ui) */
  enableUi?: boolean;
  /** called when this member applied its own removal from the cluster (after it closed) */
  onRemoved?: () => void;
  logger?: ServerLogger;
}

export interface Member {
  /** resolves once the member published itself through raft and serves clients */
  ready: Promise<void>;
  close(): Promise<void>;
  /** the bound client URLs (port 0 replaced by the chosen port) */
  clientUrls: string[];
  server: EtcdServer;
  /** bound peer URLs (empty without --listen-peer-urls) */
  peerUrls: string[];
  /** Cuts (true) or restores (false) this member's peer traffic both ways, like a network partition (tests). */
  isolate(on: boolean): void;
}

function boundUrls(urls: string[], listeners: ClientPortListener[]): string[] {
  // listeners come one per host:port in URL order; map each URL to its listener's port
  const out: string[] = [];
  const seen = new Map<string, number>();
  let i = 0;
  for (const raw of urls) {
    const u = new URL(raw);
    const key = `${u.hostname}|${u.port}`;
    let idx = seen.get(key);
    if (idx === undefined) {
      idx = i++;
      seen.set(key, idx);
    }
    const port = listeners[idx].address().port;
    u.port = String(port);
    out.push(u.toString().replace(/\/$/, ''));
  }
  return out;
}

/** etcd's TLSInfo.String() */
function describeTls(t: { certFile: string; keyFile: string; trustedCaFile?: string; clientCertAuth?: boolean; crlFile?: string }): string {
  return `cert = ${t.certFile}, key = ${t.keyFile}, trusted-ca = ${t.trustedCaFile ?? ''}, client-cert-auth = ${t.clientCertAuth ?? false}, crl-file = ${t.crlFile ?? ''}`;
}

export async function startServer(opts: StartServerOptions = {}): Promise<Member> {
  const name = opts.name ?? defaults.name;
  // "localhost" listens on the IPv4 loopback, as etcd resolves it
  const listenClientUrls = (opts.listenClientUrls ?? [...defaults.listenClientUrls]).map((u) => u.replace('://localhost:', '://127.0.0.1:'));
  const cfg: ServerConfig = {
    name,
    dataDir: opts.dataDir ?? `${name}.tsetcd`,
    walDir: opts.walDir || undefined,
    advertiseClientUrls: opts.advertiseClientUrls ?? [...defaults.advertiseClientUrls],
    initialAdvertisePeerUrls: opts.initialAdvertisePeerUrls ?? [...defaults.initialAdvertisePeerUrls],
    initialClusterToken: opts.initialClusterToken ?? defaults.initialClusterToken,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs,
    electionTimeoutMs: opts.electionTimeoutMs ?? defaults.electionTimeoutMs,
    snapshotCount: opts.snapshotCount ?? defaults.snapshotCount,
    snapshotCatchUpEntries: opts.snapshotCatchUpEntries,
    maxTxnOps: opts.maxTxnOps ?? defaults.maxTxnOps,
    maxRequestBytes: opts.maxRequestBytes ?? defaults.maxRequestBytes,
    quotaBackendBytes: opts.quotaBackendBytes ?? defaults.quotaBackendBytes,
    watchProgressNotifyIntervalMs: opts.watchProgressNotifyIntervalMs,
    unsafeNoFsync: opts.unsafeNoFsync,
    preVote: opts.preVote,
    strictReconfigCheck: opts.strictReconfigCheck,
    warningApplyDurationMs: opts.warningApplyDurationMs,
    leaseCheckpoint: opts.leaseCheckpoint,
    leaseCheckpointPersist: opts.leaseCheckpointPersist,
    leaseCheckpointIntervalMs: opts.leaseCheckpointIntervalMs,
    forceNewCluster: opts.forceNewCluster,
    maxSnapshots: opts.maxSnapshots,
    maxWals: opts.maxWals,
    purgeIntervalMs: opts.purgeIntervalMs,
    walSegmentBytes: opts.walSegmentBytes,
    backendBatchIntervalMs: opts.backendBatchIntervalMs,
    backendBatchLimit: opts.backendBatchLimit,
    compactionBatchLimit: opts.compactionBatchLimit,
    logger: opts.logger ?? silentLogger,
  };
  const log = cfg.logger;
  // TLS first: auto-TLS writes its certificates into the data dir, and a joining member needs peer TLS
  const clientTls = clientTlsInfo(opts, cfg.dataDir, opts.listenClientUrls ?? [...defaults.listenClientUrls], log);
  const peerTls = peerTlsInfo(opts, cfg.dataDir, opts.listenPeerUrls ?? [...defaults.initialAdvertisePeerUrls], log);
  if (clientTls !== undefined) log.info('starting with client TLS', { 'tls-info': describeTls(clientTls), 'cipher-suites': opts.cipherSuites ?? [] });
  if (peerTls !== undefined) log.info('starting with peer TLS', { 'tls-info': describeTls(peerTls), 'cipher-suites': opts.cipherSuites ?? [] });
  const cluster =
    opts.initialCluster !== undefined || opts.discovery || opts.discoverySrv
      ? await planBootstrap({ ...opts, log: opts.logger, peerTls, name, dataDir: cfg.dataDir, walDir: cfg.walDir, initialCluster: opts.initialCluster ?? '', initialClusterState: opts.initialClusterState ?? 'new', initialClusterToken: cfg.initialClusterToken, initialAdvertisePeerUrls: cfg.initialAdvertisePeerUrls })
      : undefined;
  // etcd checks a restarted member's data against its peers' before serving anything
  const memberInitialized = await Wal.exists(cfg.walDir ?? join(cfg.dataDir, 'member', 'wal'));
  let layer: ClusterLayer | undefined;
  let closeMember: (() => Promise<void>) | undefined;
  const server = await EtcdServer.start(cfg, {
    deferPublish: true,
    cluster,
    // once the member knows its ID and members, before raft runs (as etcd between NewServer and
    // Start): the initial corruption check, then the cluster layer and its peer transport
    transport: async (s) => {
      if (memberInitialized && opts.initialCorruptCheck) await checkInitialHashKV(serverView(s), peerTls ? clientTlsOptions(peerTls) : undefined);
      layer = await startClusterLayer(s, {
        listenPeerUrls: opts.listenPeerUrls,
        tls: peerTls,
        log,
        onRemovedSelf: () => void closeMember?.().finally(() => opts.onRemoved?.()),
      });
      return layer.transport;
    },
  });
  // (start() built it before raft ran)
  const peers: ClusterLayer = layer!;
  const view = serverView(server);
  try {
    view.auth.configure({ authToken: opts.authToken, tokenTtlSeconds: opts.authTokenTtlSeconds, bcryptCost: opts.bcryptCost });
  } catch (e) {
    await server.close();
    await peers.close();
    throw e;
  }
  let listeners: ClientPortListener[] = [];
  let httpHandler: HttpHandler | undefined;
  let metricsListeners: ClientPortListener[] = [];
  try {
    const metrics = createMetrics(view);
    const grpcMetrics = grpcServerMetrics(metrics);
    const grpc = createGrpcServer(view, peers, grpcMetrics);
    grpcMetrics.preregister(grpc);
    if (listenClientUrls.some((u) => u.startsWith('https:')) && clientTls === undefined) {
      const u = (opts.listenClientUrls ?? []).find((x) => x.startsWith('https:'));
      throw new Error(`TLS key/cert (--cert-file, --key-file) must be provided for client url ${u} with HTTPS scheme`);
    }
    const ui = opts.enableUi ? createUiRoute({ memberClientUrls: () => view.cluster.members().flatMap((m) => m.clientUrls), tls: clientTls && clientTlsOptions(clientTls) }) : undefined;
    const v2 = opts.enableV2 === true ? createV2Handler(v2View(server), {
            clientCertAuth: opts.clientCertAuth ?? false,
            members: {
              memberAdd: (urls, learner) => peers.ops.memberAdd(urls, learner),
              memberRemove: (id) => peers.ops.memberRemove(id),
              memberUpdate: (id, urls) => peers.ops.memberUpdate(id, urls),
              isRemoved: (id) => server.cluster.isRemoved(id),
            },
          }) : undefined;
    httpHandler = createHttpHandler(view, metrics, { grpc, clientCertAuth: opts.clientCertAuth ?? false, disabled: opts.enableGrpcGateway === false }, opts.maxConcurrentStreams ?? 0, ui, v2);
    listeners = clientPortListeners(listenClientUrls, {
      grpc,
      httpHandler: withAccessControl(httpHandler, { cors: opts.cors, hostWhitelist: opts.hostWhitelist, log }),
      tls: clientTls === undefined ? undefined : listenerTls(clientTls, false, log),
      maxConcurrentStreams: opts.maxConcurrentStreams,
      keepaliveMinTimeMs: opts.grpcKeepaliveMinTimeMs,
      keepaliveIntervalMs: opts.grpcKeepaliveIntervalMs,
      keepaliveTimeoutMs: opts.grpcKeepaliveTimeoutMs,
      // as etcd: the client port is bound now (connections queue) and served once the member has
      // published itself; the metrics listeners below serve at once, as etcd's do
      serveAfter: server.readyToServe,
    });
    await Promise.all(listeners.map((l) => l.listen()));
    metricsListeners = await serveMetrics(opts.listenMetricsUrls ?? [], httpHandler, clientTls, log);
  } catch (e) {
    await Promise.all([...listeners, ...metricsListeners].map((l) => l.close().catch(() => undefined)));
    await server.close();
    await peers.close();
    throw e;
  }
  const clientUrls = boundUrls(listenClientUrls, listeners);
  // with port 0 the advertised URLs are the bound ones (tests); otherwise the configured ones
  if (opts.advertiseClientUrls === undefined || listenClientUrls.some((u) => new URL(u).port === '0')) {
    cfg.advertiseClientUrls = clientUrls;
  }
  server.allowPublish();
  const stopTickAdvance = adjustTicks(server, { advance: opts.initialElectionTickAdvance ?? true, activePeers: () => peers.transport?.activePeers() ?? 0 });
  const stopHashMonitor = opts.corruptCheckTimeMs
    ? monitorKVHash(view, opts.corruptCheckTimeMs, peerTls ? clientTlsOptions(peerTls) : undefined)
    : undefined;
  const compactor = opts.autoCompaction
    ? new Compactor(opts.autoCompaction, {
        currentRevision: () => view.currentRevision(),
        compactRevision: () => view.compactRevision(),
        isLeader: () => server.isLeader(),
        compact: async (rev) => {
          await server.propose({ compaction: { revision: rev, physical: false } });
          log.info('completed auto revision compaction', { revision: rev.toString() });
        },
      })
    : undefined;
  const ready = server.readyToServe.then(() => {
    for (const u of clientUrls) {
      log.info('ready to serve client requests');
      log.info(u.startsWith('https') ? 'serving client traffic securely' : 'serving client traffic insecurely; this is strongly discouraged!', { address: new URL(u).host });
    }
    if (opts.enableUi) for (const u of clientUrls) log.info(`web dashboard: open ${u}/ui/`, { url: `${u}/ui/` });
  });
  ready.catch(() => undefined);
  let closing: Promise<void> | undefined;
  const member: Member = {
    ready,
    clientUrls,
    server,
    peerUrls: peers.peerUrls,
    isolate(on) {
      peers.transport?.isolate(on);
    },
    close() {
      if (closing) return closing;
      closing = (async () => {
        log.info('closing etcd server', { name, 'data-dir': cfg.dataDir, 'advertise-client-urls': cfg.advertiseClientUrls });
        compactor?.stop();
        stopTickAdvance();
        stopHashMonitor?.();
        // gateway streams end with etcd's last line before the connections go
        httpHandler?.closeStreams();
        await Promise.all([...listeners, ...metricsListeners].map((l) => l.close().catch(() => undefined)));
        await server.close();
        await peers.close();
        log.info('stopped serving', { 'local-member-id': idToHex(server.memberId) });
      })();
      return closing;
    },
  };
  closeMember = () => member.close();
  return member;
}

export { EtcdServer };
