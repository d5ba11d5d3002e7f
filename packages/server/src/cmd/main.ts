#!/usr/bin/env node
// tsetcd: the server command (etcd's flags; see flags.ts).

import { startServer, type Member } from '../embed/index.js';
import { createZapLogger, type LogLevel } from '../embed/zap-logger.js';
import { FlagError, loadConfigFile, parseFlags, usage, type FlagValues } from './flags.js';
import { serverVersion } from '../etcdserver/config.js';
import { parseRetention } from '../etcdserver/compactor.js';
import { importEtcdDataDir } from '../etcdserver/etcd-data-dir.js';
import { validateAuthTokenSpec } from '../auth/auth-store.js';
import { parseUrls, parseUrlsMap, UrlsError } from '@tsetcd/common';
import { gatewayMain } from './gateway.js';
import { applyHeapPolicy } from './heap-policy.js';
import { grpcProxyMain } from './grpc-proxy.js';
import { discoveryFallback, conflictingBootstrap, logOutputs, memberBehaviourOptions, refuseProxyMode, startupWarnings } from './member-flags.js';

function fail(msg: string, code = 2): never {
  process.stderr.write(`tsetcd: ${msg}\n`);
  process.exit(code);
}

function checkUrls(flag: string, urls: string[]): void {
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      fail(`invalid value "${urls.join(',')}" for flag -${flag}: parse ${u}: invalid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'unix:' && url.protocol !== 'unixs:') {
      fail(`invalid value "${urls.join(',')}" for flag -${flag}: URL scheme must be http, https, unix, or unixs: ${u}`);
    }
  }
}

/** etcd's types.NewURLs checks, for the URL lists it parses that way (--cors allows a lone "*"). */
function checkUrlList(flag: string, urls: string[], allowStar = false): void {
  if (allowStar && urls.length === 1 && urls[0] === '*') return;
  if (urls.length === 0) return;
  try {
    parseUrls(urls);
  } catch (e) {
    if (e instanceof UrlsError) fail(`invalid value "${urls.join(',')}" for flag -${flag}: ${e.message}`);
    throw e;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  try {
    applyHeapPolicy();
  } catch (e) {
    fail((e as Error).message);
  }
  // etcd's subcommands, recognised as the first argument only
  if (argv[0] === 'gateway') return gatewayMain(argv.slice(1));
  if (argv[0] === 'grpc-proxy') return grpcProxyMain(argv.slice(1));
  // tsetcd's own: the web dashboard for any cluster
  if (argv[0] === 'ui') return (await import('../ui/ui-command.js')).runUiCommand(argv.slice(1));
  if (argv.includes('-h') || argv.includes('--help') || argv.includes('-help')) {
    process.stdout.write(usage());
    return;
  }
  let values: FlagValues;
  let warnings: string[] = [];
  let parsedSet = new Set<string>();
  try {
    const parsed = parseFlags(argv);
    values = parsed.values;
    warnings = parsed.warnings;
    parsedSet = parsed.set;
    if (values['config-file']) {
      const file = loadConfigFile(String(values['config-file']));
      values = { ...file.values, version: values.version };
      parsedSet = file.set;
    }
  } catch (e) {
    if (e instanceof FlagError) fail(e.message);
    throw e;
  }
  if (values.version) {
    process.stdout.write(`etcd Version: ${serverVersion}\nGit SHA: tsetcd\nGo Version: node ${process.version}\nGo OS/Arch: ${process.platform}/${process.arch}\n`);
    return;
  }
  const level = (values.debug ? 'debug' : String(values['log-level'])) as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) fail(`invalid value "${level}" for flag -log-level: unknown level (debug, info, warn, error)`);
  if (values.logger !== 'zap') fail(`unknown logger option "${values.logger}" (only 'zap' is supported)`);
  const log = createZapLogger(level, logOutputs(values, parsedSet));
  for (const w of warnings) log.warn(w);
  for (const w of startupWarnings(values)) log.warn(w.msg, w.fields);
  for (const f of ['listen-client-urls', 'advertise-client-urls', 'listen-peer-urls', 'initial-advertise-peer-urls']) checkUrls(f, values[f] as string[]);
  // etcd refuses an explicit client listener without advertised URLs (port 0 is a tsetcd extension for tests)
  const listenSet = parsedSet.has('listen-client-urls');
  const listenPort0 = (values['listen-client-urls'] as string[]).every((u) => /:0\/?$/.test(u));
  if (listenSet && !parsedSet.has('advertise-client-urls') && !listenPort0) {
    fail('--advertise-client-urls is required when --listen-client-urls is set explicitly');
  }
  // --initial-cluster: this member's entry must match --initial-advertise-peer-urls (etcd's check)
  if (parsedSet.has('initial-cluster')) {
    let byName: Map<string, string[]>;
    try {
      byName = parseUrlsMap(String(values['initial-cluster']));
    } catch (e) {
      if (e instanceof UrlsError) fail(`error setting up initial cluster: ${e.message}`);
      throw e;
    }
    const mine = byName.get(String(values.name));
    if (mine === undefined) fail(`couldn't find local name "${values.name}" in the initial cluster configuration`);
    const adv = [...(values['initial-advertise-peer-urls'] as string[])].sort();
    if (mine.sort().join(',') !== adv.join(',')) {
      fail(`--initial-cluster has ${values.name}=${mine.join(',')} but missing from --initial-advertise-peer-urls=${adv.join(',')} ("${mine.join(',')}"(resolved from "${mine.join(',')}") != "${adv.join(',')}"(resolved from "${adv.join(',')}"))`);
    }
  }
  const bootstrapConflict = conflictingBootstrap(values, parsedSet);
  if (bootstrapConflict) fail(bootstrapConflict);
  const proxyRefusal = refuseProxyMode(values);
  if (proxyRefusal) fail(proxyRefusal, 1);
  checkUrlList('listen-metrics-urls', values['listen-metrics-urls'] as string[]);
  checkUrlList('cors', values.cors as string[], true);
  const state = String(values['initial-cluster-state']);
  if (state !== 'new' && state !== 'existing') fail(`invalid value "${state}" for flag -initial-cluster-state: valid values include new,existing`);
  const mode = String(values['auto-compaction-mode']);
  if (mode !== 'periodic' && mode !== 'revision') fail(`unknown auto-compaction-mode "${mode}"`);
  let retention;
  try {
    retention = parseRetention(mode, String(values['auto-compaction-retention']));
  } catch (e) {
    fail((e as Error).message);
  }
  const hb = Number(values['heartbeat-interval']);
  const et = Number(values['election-timeout']);
  if (hb <= 0) fail('--heartbeat-interval must be > 0');
  if (5 * hb > et) fail(`--election-timeout[${et}ms] should be at least as 5 times as --heartbeat-interval[${hb}ms]`);
  if (et > 50000) fail(`--election-timeout[${et}ms] is too long, and should be set less than 50000ms`);
  const name = String(values.name);
  const quota = Number(values['quota-backend-bytes']);
  // etcd does not start without a working token provider (unknown type, bad JWT options or keys)
  try {
    validateAuthTokenSpec(String(values['auth-token']));
  } catch (e) {
    fail(`failed to create token provider: ${(e as Error).message}`, 1);
  }
  log.info('starting tsetcd', { 'etcd-version': serverVersion, 'node-version': process.version, 'data-dir': values['data-dir'] || `${name}.tsetcd` });
  let member: Member;
  try {
    // a data dir written by `etcdctl snapshot restore` holds etcd's formats: converted once
    if (await importEtcdDataDir(String(values['data-dir'] || `${name}.tsetcd`), String(values['wal-dir'] || '') || undefined)) {
      log.info('converted etcd data dir restored from a snapshot', { 'data-dir': values['data-dir'] || `${name}.tsetcd` });
    }
    member = await startServer({
      name,
      dataDir: String(values['data-dir'] || `${name}.tsetcd`),
      walDir: String(values['wal-dir'] || ''),
      listenClientUrls: values['listen-client-urls'] as string[],
      advertiseClientUrls: values['advertise-client-urls'] as string[],
      initialAdvertisePeerUrls: values['initial-advertise-peer-urls'] as string[],
      initialClusterToken: String(values['initial-cluster-token']),
      heartbeatIntervalMs: hb,
      electionTimeoutMs: et,
      snapshotCount: Number(values['snapshot-count']),
      snapshotCatchUpEntries: Number(values['experimental-snapshot-catchup-entries']),
      maxTxnOps: Number(values['max-txn-ops']),
      maxRequestBytes: Number(values['max-request-bytes']),
      quotaBackendBytes: quota,
      autoCompaction: retention,
      unsafeNoFsync: Boolean(values['unsafe-no-fsync']),
      // etcd keeps its default for a zero or negative interval
      watchProgressNotifyIntervalMs: Number(values['experimental-watch-progress-notify-interval']) > 0 ? Number(values['experimental-watch-progress-notify-interval']) : undefined,
      certFile: String(values['cert-file'] || '') || undefined,
      keyFile: String(values['key-file'] || '') || undefined,
      trustedCaFile: String(values['trusted-ca-file'] || '') || undefined,
      clientCertAuth: Boolean(values['client-cert-auth']),
      authToken: String(values['auth-token']),
      authTokenTtlSeconds: Number(values['auth-token-ttl']),
      bcryptCost: Number(values['bcrypt-cost']),
      // the peer listener and --initial-cluster bootstrap only when asked for (single-member runs keep port 2380 free)
      listenPeerUrls: parsedSet.has('listen-peer-urls') || parsedSet.has('initial-cluster') || values.discovery || values['discovery-srv'] ? (values['listen-peer-urls'] as string[]) : undefined,
      initialCluster: parsedSet.has('initial-cluster') ? String(values['initial-cluster']) : undefined,
      discovery: String(values.discovery || '') || undefined,
      initialClusterState: state,
      peerCertFile: String(values['peer-cert-file'] || '') || undefined,
      peerKeyFile: String(values['peer-key-file'] || '') || undefined,
      peerTrustedCaFile: String(values['peer-trusted-ca-file'] || '') || undefined,
      peerClientCertAuth: Boolean(values['peer-client-cert-auth']),
      ...memberBehaviourOptions(values),
      // TLS and serving
      autoTls: Boolean(values['auto-tls']),
      peerAutoTls: Boolean(values['peer-auto-tls']),
      clientCrlFile: String(values['client-crl-file'] || '') || undefined,
      clientCertAllowedHostname: String(values['client-cert-allowed-hostname'] || '') || undefined,
      peerCrlFile: String(values['peer-crl-file'] || '') || undefined,
      peerCertAllowedCn: String(values['peer-cert-allowed-cn'] || '') || undefined,
      peerCertAllowedHostname: String(values['peer-cert-allowed-hostname'] || '') || undefined,
      peerSkipClientSanVerification: Boolean(values['experimental-peer-skip-client-san-verification']),
      cipherSuites: values['cipher-suites'] as string[],
      listenMetricsUrls: values['listen-metrics-urls'] as string[],
      maxConcurrentStreams: Number(values['max-concurrent-streams']),
      cors: values.cors as string[],
      hostWhitelist: values['host-whitelist'] as string[],
      onRemoved: () => process.exit(0),
      logger: log,
    });
  } catch (e) {
    const why = discoveryFallback(values, e as Error);
    if (why !== undefined) log.warn(why.warn, why.fields);
    log.error('failed to start tsetcd', { error: why?.error ?? (e as Error).message });
    process.exit(1);
  }
  member.server.addListener({
    // like etcd's fatal log: the process exits; acknowledged writes are in the WAL
    fatal: () => process.exit(1),
  });
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info('received signal; shutting down', { signal: sig === 'SIGTERM' ? 'terminated' : 'interrupt' });
    member.close().finally(() => {
      process.removeAllListeners(sig);
      // die by the same signal, as etcd does
      process.kill(process.pid, sig);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  member.ready.catch((e) => {
    if (!stopping) {
      log.error('tsetcd stopped before it was ready', { error: String(e) });
      process.exit(1);
    }
  });
}

main().catch((e) => {
  process.stderr.write(`tsetcd: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
