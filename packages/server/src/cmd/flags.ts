// etcd's command line: flag names, defaults, ETCD_* environment variables and --config-file YAML.
// Both "--flag value" and "--flag=value" (one or two dashes), bare booleans and "--flag=false".
// Unknown flags and bad values are refused with etcd's wording.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { formatGoDuration, parseGoDurationMs } from '@tsetcd/common';
import { helpHeader, helpSections } from './help-sections.js';

/** 'duration': a Go duration ("300ms", "1m30s"), held in milliseconds */
type Kind = 'string' | 'strings' | 'uint' | 'uint32' | 'int' | 'bool' | 'duration';

interface FlagSpec {
  kind: Kind;
  def: string | number | boolean | string[];
  help: string;
  /** accepted for compatibility; has no effect in tsetcd */
  ignored?: boolean;
  /** the only values accepted (etcd's selective string flags) */
  choices?: string[];
}

export const flagSpecs: Record<string, FlagSpec> = {
  'name': { kind: 'string', def: 'default', help: 'Human-readable name for this member.' },
  'data-dir': { kind: 'string', def: '', help: 'Path to the data directory (default "${name}.tsetcd").' },
  'wal-dir': { kind: 'string', def: '', help: 'Path to the dedicated wal directory.' },
  'snapshot-count': { kind: 'uint', def: 100000, help: 'Number of committed transactions to trigger a snapshot to disk.' },
  'experimental-snapshot-catchup-entries': { kind: 'uint', def: 5000, help: 'Number of entries for a slow follower to catch up after compacting the raft storage entries.' },
  'heartbeat-interval': { kind: 'uint', def: 100, help: 'Time (in milliseconds) of a heartbeat interval.' },
  'election-timeout': { kind: 'uint', def: 1000, help: 'Time (in milliseconds) for an election to timeout.' },
  'quota-backend-bytes': { kind: 'int', def: 0, help: 'Raise alarms when backend size exceeds the given quota. 0 means use the default quota.' },
  'max-txn-ops': { kind: 'uint', def: 128, help: 'Maximum number of operations permitted in a transaction.' },
  'max-request-bytes': { kind: 'uint', def: 1572864, help: 'Maximum client request size in bytes the server will accept.' },
  'listen-peer-urls': { kind: 'strings', def: ['http://localhost:2380'], help: 'List of URLs to listen on for peer traffic.' },
  'listen-client-urls': { kind: 'strings', def: ['http://localhost:2379'], help: 'List of URLs to listen on for client traffic.' },
  'initial-advertise-peer-urls': { kind: 'strings', def: ['http://localhost:2380'], help: "List of this member's peer URLs to advertise to the rest of the cluster." },
  'advertise-client-urls': { kind: 'strings', def: ['http://localhost:2379'], help: "List of this member's client URLs to advertise to the public." },
  'initial-cluster': { kind: 'string', def: 'default=http://localhost:2380', help: 'Initial cluster configuration for bootstrapping.' },
  'initial-cluster-token': { kind: 'string', def: 'etcd-cluster', help: 'Initial cluster token for the etcd cluster during bootstrap.' },
  'initial-cluster-state': { kind: 'string', def: 'new', help: "Initial cluster state ('new' or 'existing')." },
  'discovery': { kind: 'string', def: '', help: 'Discovery URL used to bootstrap the cluster.' },
  'auto-compaction-mode': { kind: 'string', def: 'periodic', help: "Interpret 'auto-compaction-retention' one of: periodic|revision." },
  'auto-compaction-retention': { kind: 'string', def: '0', help: 'Auto compaction retention for mvcc key value store. 0 means disable auto compaction.' },
  'cert-file': { kind: 'string', def: '', help: 'Path to the client server TLS cert file.' },
  'key-file': { kind: 'string', def: '', help: 'Path to the client server TLS key file.' },
  'trusted-ca-file': { kind: 'string', def: '', help: 'Path to the client server TLS trusted CA cert file.' },
  'client-cert-auth': { kind: 'bool', def: false, help: 'Enable client cert authentication.' },
  'auth-token': { kind: 'string', def: 'simple', help: "Specify auth token specific options ('simple' or 'jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...')." },
  'auth-token-ttl': { kind: 'uint', def: 300, help: 'The lifetime in seconds of the auth token.' },
  'bcrypt-cost': { kind: 'uint', def: 10, help: 'Specify bcrypt algorithm cost factor for auth password hashing (tsetcd hashes with scrypt of the same strength).' },
  'peer-cert-file': { kind: 'string', def: '', help: 'Path to the peer server TLS cert file.' },
  'peer-key-file': { kind: 'string', def: '', help: 'Path to the peer server TLS key file.' },
  'peer-trusted-ca-file': { kind: 'string', def: '', help: 'Path to the peer server TLS trusted CA file.' },
  'peer-client-cert-auth': { kind: 'bool', def: false, help: 'Enable peer client cert authentication.' },
  'logger': { kind: 'string', def: 'zap', help: "Currently only supports 'zap' for structured logging." },
  'log-level': { kind: 'string', def: 'info', help: 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.' },
  'log-outputs': { kind: 'strings', def: ['default'], help: "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets." },
  'config-file': { kind: 'string', def: '', help: 'Path to the server configuration file.' },
  'version': { kind: 'bool', def: false, help: 'Print the version and exit.' },
  'enable-v2': { kind: 'bool', def: false, help: 'Accept etcd V2 client requests.' },
  'debug': { kind: 'bool', def: false, help: 'Enable debug-level logging for etcd.' },
  'strict-reconfig-check': { kind: 'bool', def: true, help: 'Reject reconfiguration requests that would cause quorum loss.' },
  'enable-pprof': { kind: 'bool', def: false, help: 'Enable runtime profiling data via HTTP server.', ignored: true },
  'metrics': { kind: 'string', def: 'basic', help: "Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics.", ignored: true },
  'unsafe-no-fsync': { kind: 'bool', def: false, help: 'Disables fsync, unsafe, will cause data loss.' },
  'experimental-watch-progress-notify-interval': { kind: 'duration', def: 600000, help: 'Duration of periodical watch progress notification.' },
  'grpc-keepalive-min-time': { kind: 'duration', def: 5000, help: 'Minimum duration interval that a client should wait before pinging server.' },
  'grpc-keepalive-interval': { kind: 'duration', def: 7200000, help: 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).' },
  'grpc-keepalive-timeout': { kind: 'duration', def: 20000, help: 'Additional duration of wait before closing a non-responsive connection (0 to disable).' },
  'experimental-warning-apply-duration': { kind: 'duration', def: 100, help: 'Warning is generated if requests take more than this duration.' },

  // Raft, recovery and storage
  'initial-election-tick-advance': { kind: 'bool', def: true, help: 'Whether to fast-forward initial election ticks on boot for faster election.' },
  'pre-vote': { kind: 'bool', def: false, help: 'Enable to run an additional Raft election phase.' },
  'force-new-cluster': { kind: 'bool', def: false, help: 'Force to create a new one-member cluster.' },
  'max-snapshots': { kind: 'uint', def: 5, help: 'Maximum number of snapshot files to retain (0 is unlimited).' },
  'max-wals': { kind: 'uint', def: 5, help: 'Maximum number of wal files to retain (0 is unlimited).' },
  'backend-batch-interval': { kind: 'duration', def: 0, help: 'BackendBatchInterval is the maximum time before commit the backend transaction (0 means 100ms).' },
  'backend-batch-limit': { kind: 'int', def: 0, help: 'BackendBatchLimit is the maximum operations before commit the backend transaction (0 means 10000).' },

  // Consistency checks and experimental features
  'experimental-initial-corrupt-check': { kind: 'bool', def: false, help: 'Enable to check data corruption before serving any client/peer traffic.' },
  'experimental-corrupt-check-time': { kind: 'duration', def: 0, help: 'Duration of time between cluster corruption check passes.' },
  'experimental-enable-v2v3': { kind: 'string', def: '', help: 'Serve v2 requests through the v3 backend under a given prefix (not supported: --enable-v2 serves the v2 store).' },
  'experimental-backend-bbolt-freelist-type': { kind: 'string', def: 'array', help: "ExperimentalBackendFreelistType specifies the type of freelist that boltdb backend uses (array and map are supported types). No effect: tsetcd's backend is not bbolt." },
  'experimental-enable-lease-checkpoint': { kind: 'bool', def: false, help: 'ExperimentalEnableLeaseCheckpoint enables primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases.' },
  'experimental-enable-lease-checkpoint-persist': { kind: 'bool', def: false, help: 'Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases (with --experimental-enable-lease-checkpoint).' },
  'experimental-compaction-batch-limit': { kind: 'int', def: 1000, help: 'ExperimentalCompactionBatchLimit sets the maximum revisions deleted in each compaction batch.' },
  'enable-grpc-gateway': { kind: 'bool', def: true, help: 'Enable GRPC gateway (the JSON API under /v3/).' },

  // Discovery
  'discovery-fallback': { kind: 'string', def: 'proxy', choices: ['exit', 'proxy'], help: "Expected behavior ('exit' or 'proxy') when discovery services fails. \"proxy\" supports v2 API only." },
  'discovery-proxy': { kind: 'string', def: '', help: 'HTTP proxy to use for traffic to discovery service.' },
  'discovery-srv': { kind: 'string', def: '', help: 'DNS srv domain used to bootstrap the cluster.' },
  'discovery-srv-name': { kind: 'string', def: '', help: 'Suffix to the dns srv name queried when bootstrapping.' },

  // Logging (deprecated in etcd 3.5)
  'log-package-levels': { kind: 'string', def: '', help: "Specify a particular log level for each etcd package (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG'). Only a warning with the zap logger, as in etcd." },
  'log-output': { kind: 'strings', def: ['default'], help: "[TO BE DEPRECATED IN v3.5] use '--log-outputs'." },

  // v2 proxy (only 'off': tsetcd does not run the v2 proxy)
  'proxy': { kind: 'string', def: 'off', choices: ['off', 'readonly', 'on'], help: "Proxy mode setting ('off', 'readonly' or 'on'). tsetcd runs only 'off'." },
  'proxy-failure-wait': { kind: 'uint', def: 5000, help: 'Time (in milliseconds) an endpoint will be held in a failed state.', ignored: true },
  'proxy-refresh-interval': { kind: 'uint', def: 30000, help: 'Time (in milliseconds) of the endpoints refresh interval.', ignored: true },
  'proxy-dial-timeout': { kind: 'uint', def: 1000, help: 'Time (in milliseconds) for a dial to timeout.', ignored: true },
  'proxy-write-timeout': { kind: 'uint', def: 5000, help: 'Time (in milliseconds) for a write to timeout.', ignored: true },
  'proxy-read-timeout': { kind: 'uint', def: 0, help: 'Time (in milliseconds) for a read to timeout.', ignored: true },

  // TLS and serving
  'auto-tls': { kind: 'bool', def: false, help: 'Client TLS using generated certificates' },
  'peer-auto-tls': { kind: 'bool', def: false, help: 'Peer TLS using generated certificates' },
  'client-crl-file': { kind: 'string', def: '', help: 'Path to the client certificate revocation list file.' },
  'client-cert-allowed-hostname': { kind: 'string', def: '', help: 'Allowed TLS hostname for client cert authentication.' },
  'peer-crl-file': { kind: 'string', def: '', help: 'Path to the peer certificate revocation list file.' },
  'peer-cert-allowed-cn': { kind: 'string', def: '', help: 'Allowed CN for inter peer authentication.' },
  'peer-cert-allowed-hostname': { kind: 'string', def: '', help: 'Allowed TLS hostname for inter peer authentication.' },
  'cipher-suites': { kind: 'strings', def: [], help: 'Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go). Go names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; they restrict TLS 1.2, TLS 1.3 stays on.' },
  'experimental-peer-skip-client-san-verification': { kind: 'bool', def: false, help: 'Skip verification of SAN field in client certificate for peer connections.' },
  'listen-metrics-urls': { kind: 'strings', def: [], help: 'List of URLs to listen on for the metrics and health endpoints.' },
  'max-concurrent-streams': { kind: 'uint32', def: 4294967295, help: 'Maximum concurrent streams that each client can open at a time.' },
  'cors': { kind: 'strings', def: ['*'], help: 'Comma-separated white list of origins for CORS, or cross-origin resource sharing, (empty or * means allow all)' },
  'host-whitelist': { kind: 'strings', def: ['*'], help: 'Comma-separated acceptable hostnames from HTTP client requests, if server is not secure (empty means allow all).' },

  // tsetcd only
  'enable-ui': { kind: 'bool', def: false, help: 'Serve the web dashboard at /ui/ on the client port (tsetcd only; `tsetcd ui --endpoints` serves it for any cluster).' },
};

export type FlagValues = Record<string, string | number | boolean | string[]>;

export class FlagError extends Error {
  readonly code = 'ERR_FLAG';
}

function parseValue(name: string, spec: FlagSpec, raw: string): string | number | boolean | string[] {
  switch (spec.kind) {
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(raw)) throw new FlagError(`invalid value "${raw}" for flag -${name}: invalid value`);
      return raw;
    case 'strings':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'bool': {
      const v = raw.toLowerCase();
      if (['1', 't', 'true'].includes(v)) return true;
      if (['0', 'f', 'false'].includes(v)) return false;
      throw new FlagError(`invalid value "${raw}" for flag -${name}: parse error`);
    }
    case 'uint32': {
      // Go's strconv.ParseUint(s, 0, 32): decimal, 0x hex, 0o/0 octal, 0b binary
      const t = raw.replace(/_/g, '');
      if (!/^(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/.test(t) || raw.includes('_')) {
        throw new FlagError(`invalid value "${raw}" for flag -${name}: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
      }
      const n = Number(/^0[0-7]+$/.test(t) ? `0o${t.slice(1)}` : t.replace(/^0[oO]/, '0o'));
      if (n > 0xffffffff) throw new FlagError(`invalid value "${raw}" for flag -${name}: strconv.ParseUint: parsing ${JSON.stringify(raw)}: value out of range`);
      return n;
    }
    case 'uint':
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new FlagError(`invalid value "${raw}" for flag -${name}: parse error`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || (spec.kind === 'uint' && n < 0)) throw new FlagError(`invalid value "${raw}" for flag -${name}: value out of range`);
      return n;
    }
    case 'duration':
      try {
        return parseGoDurationMs(raw);
      } catch {
        throw new FlagError(`invalid value "${raw}" for flag -${name}: parse error`);
      }
  }
}

function envName(flag: string): string {
  return 'ETCD_' + flag.toUpperCase().replace(/-/g, '_');
}

export interface ParsedFlags {
  values: FlagValues;
  /** flags given on the command line */
  set: Set<string>;
  warnings: string[];
}

/** Parses argv (without node and script), then ETCD_* env for flags not on the command line. */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedFlags {
  const values: FlagValues = {};
  for (const [k, s] of Object.entries(flagSpecs)) values[k] = Array.isArray(s.def) ? [...s.def] : s.def;
  const set = new Set<string>();
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-' || a === '--') throw new FlagError(`'${a}' is not a valid flag`);
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = flagSpecs[name];
    if (spec === undefined) throw new FlagError(`flag provided but not defined: -${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      raw = argv[++i];
    }
    values[name] = parseValue(name, spec, raw);
    set.add(name);
  }
  const known = new Set(Object.keys(flagSpecs).map(envName));
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('ETCD_') || v === undefined) continue;
    if (k === 'ETCD_UNSUPPORTED_ARCH' || k.startsWith('ETCDCTL_')) continue;
    if (!known.has(k)) {
      warnings.push(`unrecognized environment variable ${k}=${v}`);
      continue;
    }
    const name = k.slice(5).toLowerCase().replace(/_/g, '-');
    if (set.has(name)) {
      warnings.push(`conflicting environment variable "${k}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`);
      continue;
    }
    try {
      values[name] = parseValue(name, flagSpecs[name], v);
    } catch (e) {
      // etcd names the variable: invalid value "x" for ETCD_PRE_VOTE: parse error
      const why = (e as Error).message.replace(/^invalid value ".*" for flag -[a-z0-9-]+: /s, '');
      throw new FlagError(`error verifying flags, invalid value "${v}" for ${k}: ${why}. See 'tsetcd --help'.`);
    }
    set.add(name);
  }
  return { values, set, warnings };
}

/** Keys of etcd's client-transport-security and peer-transport-security YAML sections. */
const securityKeys = ['cert-file', 'key-file', 'client-cert-auth', 'trusted-ca-file', 'auto-tls'];
/** TLSInfo fields that only the Go field names reach in etcd's YAML (ClientTLSInfo, PeerTLSInfo). */
const clientTlsInfoFields: Record<string, string> = { crlfile: 'client-crl-file', allowedhostname: 'client-cert-allowed-hostname' };
const peerTlsInfoFields: Record<string, string> = {
  crlfile: 'peer-crl-file',
  allowedcn: 'peer-cert-allowed-cn',
  allowedhostname: 'peer-cert-allowed-hostname',
  skipclientsanverify: 'experimental-peer-skip-client-san-verification',
};

/** Reads etcd's YAML config file (same keys as the flags; TLS under client-transport-security). */
export function loadConfigFile(path: string): { values: FlagValues; set: Set<string> } {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FlagError(`error verifying flags, ${(e as Error).message}. See 'tsetcd --help'.`);
  }
  if (doc === null || typeof doc !== 'object') throw new FlagError(`config file ${path}: not a YAML mapping`);
  const out: FlagValues = {};
  const set = new Set<string>();
  for (const [k, s] of Object.entries(flagSpecs)) out[k] = Array.isArray(s.def) ? [...s.def] : s.def;
  const put = (k: string, v: unknown): void => {
    const spec = flagSpecs[k];
    if (spec === undefined) return; // etcd ignores keys it does not know
    if (v === null || v === undefined) return;
    set.add(k);
    if (spec.kind === 'strings') out[k] = Array.isArray(v) ? v.map(String) : parseValue(k, spec, String(v));
    // a Go time.Duration in etcd's YAML is a number of nanoseconds; a duration string is accepted too
    else if (spec.kind === 'duration' && typeof v === 'number') out[k] = v / 1e6;
    else out[k] = parseValue(k, spec, String(v));
  };
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const section = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    if (k === 'client-transport-security' || k === 'peer-transport-security') {
      const prefix = k === 'peer-transport-security' ? 'peer-' : '';
      for (const [tk, tv] of Object.entries(section ?? {})) if (securityKeys.includes(tk)) put(prefix + tk, tv);
    } else if (/^(client|peer)tlsinfo$/i.test(k)) {
      // etcd's YAML also reaches its TLSInfo structs by Go field name (matched case-insensitively)
      const fields = k.toLowerCase().startsWith('peer') ? peerTlsInfoFields : clientTlsInfoFields;
      for (const [tk, tv] of Object.entries(section ?? {})) {
        const flag = fields[tk.toLowerCase()];
        if (flag !== undefined) put(flag, tv);
      }
    } else put(k, v);
  }
  return { values: out, set };
}

export function usage(): string {
  const lines = [helpHeader];
  const entry = (k: string, s: FlagSpec): void => {
    const d = Array.isArray(s.def) ? s.def.join(',') : s.kind === 'duration' ? formatGoDuration(BigInt(s.def as number) * 1_000_000n) : String(s.def);
    lines.push(`  --${k} '${d}'`, `    ${s.help}${s.ignored ? ' (accepted; no effect in tsetcd)' : ''}`);
  };
  const shown = new Set<string>();
  for (const [title, names] of helpSections) {
    const present = names.filter((n) => flagSpecs[n] !== undefined);
    if (present.length === 0) continue;
    lines.push('', `${title}:`);
    for (const n of present) {
      entry(n, flagSpecs[n]);
      shown.add(n);
    }
  }
  const rest = Object.keys(flagSpecs).filter((k) => !shown.has(k) && k !== 'version' && k !== 'config-file');
  if (rest.length > 0) {
    lines.push('', 'Other:');
    for (const n of rest) entry(n, flagSpecs[n]);
  }
  return lines.join('\n') + '\n';
}
