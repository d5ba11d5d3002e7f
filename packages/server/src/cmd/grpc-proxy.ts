// `tsetcd grpc-proxy start`: etcd's stateless v3 proxy (etcdmain/grpc_proxy.go) with its flags.
// It serves the whole v3 API (and /health, /metrics, the JSON gateway) on --listen-addr by
// relaying to the cluster's endpoints; its own TLS (--cert-file, --key-file, --trusted-ca-file,
// --auto-tls, --listen-cipher-suites, --client-crl-file) and the client TLS it dials the cluster
// with (--cert, --key, --cacert, --insecure-skip-tls-verify). Certificates must have an empty
// Common Name, as etcd's proxy requires.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type * as tls from 'node:tls';
import { createZapLogger } from '../embed/zap-logger.js';
import { ClientPortListener } from '../grpc/client-port-listener.js';
import type { GrpcServer } from '../grpc/grpc-server.js';
import { GrpcForwarder } from '../proxy/grpc-proxy.js';
import { srvClients } from '../membership/srv-discovery.js';
import { opensslCiphers } from '../tls/cipher-suites.js';
import { selfCert } from '../tls/self-cert.js';
import { startVerbFlags, type CobraFlag } from './cobra-flags.js';

const startFlags: Record<string, CobraFlag> = {
  'listen-addr': { kind: 'string', def: '127.0.0.1:23790', help: 'listen address' },
  'discovery-srv': { kind: 'string', def: '', help: 'domain name to query for SRV records describing cluster endpoints' },
  'discovery-srv-name': { kind: 'string', def: '', help: 'service name to query when using DNS discovery' },
  'metrics-addr': { kind: 'string', def: '', help: 'listen for endpoint /metrics requests on an additional interface' },
  'insecure-discovery': { kind: 'bool', def: false, help: 'accept insecure SRV records' },
  endpoints: { kind: 'strings', def: ['127.0.0.1:2379'], help: 'comma separated etcd cluster endpoints' },
  'advertise-client-url': { kind: 'string', def: '127.0.0.1:23790', help: 'advertise address to register (must be reachable by client)' },
  'resolver-prefix': { kind: 'string', def: '', help: 'prefix to use for registering proxy (must be shared with other grpc-proxy members)' },
  'resolver-ttl': { kind: 'int', def: 0, help: 'specify TTL, in seconds, when registering proxy endpoints' },
  namespace: { kind: 'string', def: '', help: 'string to prefix to all keys for namespacing requests' },
  'enable-pprof': { kind: 'bool', def: false, help: 'Enable runtime profiling data via HTTP server. Address is at client URL + "/debug/pprof/"' },
  'data-dir': { kind: 'string', def: 'default.proxy', help: 'Data directory for persistent data' },
  'max-send-bytes': { kind: 'int', def: 1572864, help: 'message send limits in bytes (default value is 1.5 MiB)' },
  'max-recv-bytes': { kind: 'int', def: 2147483647, help: 'message receive limits in bytes (default value is math.MaxInt32)' },
  cert: { kind: 'string', def: '', help: 'identify secure connections with etcd servers using this TLS certificate file' },
  key: { kind: 'string', def: '', help: 'identify secure connections with etcd servers using this TLS key file' },
  cacert: { kind: 'string', def: '', help: 'verify certificates of TLS-enabled secure etcd servers using this CA bundle' },
  'insecure-skip-tls-verify': { kind: 'bool', def: false, help: 'skip authentication of etcd server TLS certificates (CAUTION: this option should be enabled only for testing purposes)' },
  'cert-file': { kind: 'string', def: '', help: 'identify secure connections to the proxy using this TLS certificate file' },
  'key-file': { kind: 'string', def: '', help: 'identify secure connections to the proxy using this TLS key file' },
  'trusted-ca-file': { kind: 'string', def: '', help: 'verify certificates of TLS-enabled secure proxy using this CA bundle' },
  'listen-cipher-suites': { kind: 'strings', def: [], help: 'Comma-separated list of supported TLS cipher suites between client/proxy (empty will be auto-populated by Go).' },
  'auto-tls': { kind: 'bool', def: false, help: 'proxy TLS using generated certificates' },
  'client-crl-file': { kind: 'string', def: '', help: 'proxy client certificate revocation list file.' },
  'experimental-serializable-ordering': { kind: 'bool', def: false, help: 'Ensure serializable reads have monotonically increasing store revisions across endpoints.' },
  'experimental-leasing-prefix': { kind: 'string', def: '', help: 'leasing metadata prefix for disconnected linearized reads.' },
  debug: { kind: 'bool', def: false, help: 'Enable debug-level logging for grpc-proxy.' },
  'max-concurrent-streams': { kind: 'int', def: 4294967295, help: 'Maximum concurrent streams that each client can open at a time.' },
};

const proxyHelp = `grpc-proxy related command

Usage:
  tsetcd grpc-proxy [command]

Available Commands:
  start       start the grpc proxy

Flags:
  -h, --help   help for grpc-proxy

Use "tsetcd grpc-proxy [command] --help" for more information about a command.
`;

function die(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

/** etcd's TLSInfo.EmptyCN: the proxy's certificates must not carry a Common Name. */
function checkEmptyCn(certFile: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certFile));
  } catch (e) {
    die(`open ${certFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (cn !== undefined && cn !== '') die(`cert has non empty Common Name (${cn})`);
}

export async function grpcProxyMain(args: string[]): Promise<void> {
  const start = startVerbFlags(args, { use: 'tsetcd grpc-proxy start', short: 'start the grpc proxy', specs: startFlags, help: proxyHelp });
  if (start === undefined) return;
  const { values: v } = start;
  // etcd's checkArgs
  if (String(v['resolver-prefix']) !== '' && Number(v['resolver-ttl']) < 1) die(`invalid resolver-ttl ${v['resolver-ttl']}`);
  if (String(v['resolver-prefix']) === '' && Number(v['resolver-ttl']) > 0) die(`invalid resolver-prefix "${v['resolver-prefix']}"`);
  // features that change what the proxy answers, which a relaying proxy cannot honour
  for (const f of ['namespace', 'experimental-leasing-prefix', 'resolver-prefix'] as const) {
    if (String(v[f]) !== '') die(`--${f} is not supported by tsetcd grpc-proxy (it relays calls unchanged; key rewriting and proxy registration are not implemented)`);
  }
  if (v['experimental-serializable-ordering']) die('--experimental-serializable-ordering is not supported by tsetcd grpc-proxy (it relays calls unchanged)');
  const log = createZapLogger(v.debug ? 'debug' : 'info', ['stderr'], 'etcdmain/grpc_proxy.go');

  // the proxy's own listener TLS
  let ciphers: string | undefined;
  try {
    ciphers = opensslCiphers(v['listen-cipher-suites'] as string[]);
  } catch (e) {
    die((e as Error).message);
  }
  let listenCert = String(v['cert-file']);
  let listenKey = String(v['key-file']);
  const listenCa = String(v['trusted-ca-file']);
  const haveListenTls = listenCert !== '' || listenKey !== '' || listenCa !== '';
  if (haveListenTls && listenCert !== '') checkEmptyCn(listenCert);
  if (!haveListenTls && v['auto-tls']) {
    const files = selfCert(join(String(v['data-dir']), 'fixtures', 'proxy'), [String(v['listen-addr']).replace(/:\d+$/, '')], log, ['clientAuth']);
    listenCert = files.certFile;
    listenKey = files.keyFile;
  }

  // the client TLS for the cluster
  const cert = String(v.cert);
  const key = String(v.key);
  const cacert = String(v.cacert);
  let clientTls: tls.ConnectionOptions | undefined;
  if (cert !== '' || key !== '' || cacert !== '' || v['insecure-skip-tls-verify']) {
    if (cert !== '') checkEmptyCn(cert);
    clientTls = {
      cert: cert !== '' ? readFileSync(cert) : undefined,
      key: key !== '' ? readFileSync(key) : undefined,
      ca: cacert !== '' ? readFileSync(cacert) : undefined,
      rejectUnauthorized: !v['insecure-skip-tls-verify'],
    };
    if (v['insecure-skip-tls-verify']) log.warn('--insecure-skip-tls-verify was given, this grpc proxy process skips authentication of etcd server TLS certificates. This option should be enabled only for testing purposes.');
  }

  let endpoints = v.endpoints as string[];
  const domain = String(v['discovery-srv']);
  if (domain !== '') {
    try {
      const found = await srvClients({ service: 'etcd-client', domain, serviceName: String(v['discovery-srv-name']) });
      if (found.endpoints.length > 0) endpoints = found.endpoints;
      log.info('discovered cluster from SRV', { 'srv-server': domain, endpoints: found.endpoints });
    } catch (e) {
      die((e as Error).message);
    }
  }
  const forwarder = new GrpcForwarder({ endpoints, tls: clientTls, log });

  const listenAddr = String(v['listen-addr']);
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(listenAddr);
  if (m === null) die(`listen tcp: address ${listenAddr}: missing port in address`);
  const tlsOpts =
    listenCert !== '' && listenKey !== ''
      ? { cert: readFileSync(listenCert), key: readFileSync(listenKey), ca: listenCa !== '' ? readFileSync(listenCa) : undefined, requestCert: listenCa !== '', rejectUnauthorized: listenCa !== '', ciphers }
      : undefined;
  const listener = new ClientPortListener({
    host: m[1] ?? (m[2] || '0.0.0.0'),
    port: Number(m[3]),
    // relays every stream; the listener only needs handleStream
    grpc: { handleStream: forwarder.handleStream } as unknown as GrpcServer,
    httpHandler: forwarder.handleHttp,
    tls: tlsOpts,
    plaintext: tlsOpts === undefined,
    maxConcurrentStreams: Number(v['max-concurrent-streams']),
    keepaliveMinTimeMs: 0,
  });
  try {
    await listener.listen();
  } catch (e) {
    die(`listen tcp ${listenAddr}: ${(e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'bind: address already in use' : (e as Error).message}`);
  }
  if (String(v['metrics-addr']) !== '') {
    const mu = new URL(String(v['metrics-addr']).includes('://') ? String(v['metrics-addr']) : `http://${v['metrics-addr']}`);
    const metrics = new ClientPortListener({
      host: mu.hostname,
      port: Number(mu.port),
      httpHandler: (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/metrics' || path === '/health') forwarder.handleHttp(req, res);
        else res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      },
    });
    await metrics.listen();
    log.info('gRPC proxy server metrics URL serving');
  }
  log.info('started gRPC proxy', { address: listenAddr });
}
