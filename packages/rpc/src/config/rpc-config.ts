// RpcServerConf / RpcClientConf with go-zero's field names and defaults, loaded from
// YAML (or given as objects) and validated: a bad field is refused with its path and why.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { parseDurationMs } from './duration.js';
import { expandEnv } from './env-expand.js';
import type { EtcdConf } from '../discov/etcd-auth.js';

export type Mode = 'dev' | 'test' | 'rt' | 'pre' | 'pro';
const modes: readonly Mode[] = ['dev', 'test', 'rt', 'pre', 'pro'];

export interface ServerMiddlewaresConf {
  Trace: boolean;
  Recover: boolean;
  Stat: boolean;
  Prometheus: boolean;
  Breaker: boolean;
}

export interface MethodTimeoutConf {
  FullMethod: string;
  /** milliseconds */
  Timeout: number;
}

/** go-zero's logx.LogConf (the fields this package implements). */
export interface LogConf {
  /** pino's `name` (default: the service Name) */
  ServiceName: string;
  /** console: stdout; file: <Path>/access.log, error.log, severe.log; volume: <Path>/<ServiceName>/<hostname>/ */
  Mode: 'console' | 'file' | 'volume';
  /** json (pino lines) or plain (time, level, message, key=value fields, tab separated) */
  Encoding: 'json' | 'plain';
  Path: string;
  Level: 'debug' | 'info' | 'error' | 'severe';
}

/** go-zero's prometheus.Config: with Host set, GET http://Host:Port/Path serves the metrics. */
export interface PrometheusConf {
  Host: string;
  Port: number;
  Path: string;
}

/** go-zero's devserver.Config: an HTTP server with the routes list, health and metrics. */
export interface DevServerConf {
  Enabled: boolean;
  Host: string;
  Port: number;
  MetricsPath: string;
  HealthPath: string;
  EnableMetrics: boolean;
  HealthResponse: string;
}

/** go-zero's proc.ShutdownConf, in milliseconds. */
export interface ShutdownConf {
  /** pause between deregistering and draining (go-zero 1s) */
  WrapUpTime: number;
  /** hard stop after this long (go-zero 5.5s) */
  WaitTime: number;
}

export interface RpcServerConf {
  Name: string;
  Log: LogConf;
  /** set when Prometheus.Host is given */
  Prometheus?: PrometheusConf;
  /** set when a DevServer section is given and enabled */
  DevServer?: DevServerConf;
  Shutdown: ShutdownConf;
  ListenOn: string;
  Etcd?: EtcdConf;
  Mode: Mode;
  /** milliseconds, 0 = none */
  Timeout: number;
  /** millicpu in [0, 1000); 0 disables adaptive shedding */
  CpuThreshold: number;
  Health: boolean;
  Middlewares: ServerMiddlewaresConf;
  MethodTimeouts: MethodTimeoutConf[];
  /** go-zero's Auth + StrictControl: require app/token metadata */
  Auth: boolean;
}

export interface ClientMiddlewaresConf {
  Trace: boolean;
  Duration: boolean;
  Prometheus: boolean;
  Breaker: boolean;
  Timeout: boolean;
}

export interface RpcClientConf {
  Etcd?: EtcdConf;
  Endpoints?: string[];
  Target?: string;
  App?: string;
  Token?: string;
  NonBlock: boolean;
  /** milliseconds, 0 = none */
  Timeout: number;
  /** milliseconds, 0 = grpc default */
  KeepaliveTime: number;
  BalancerName: string;
  Middlewares: ClientMiddlewaresConf;
}

// go-zero fields this package does not implement: refused by name, never silently ignored.
const unsupportedServerFields: Record<string, string> = {
  MetricsUrl: 'not supported by @tsetcd/rpc (serve metrics with Prometheus or DevServer)',
  Telemetry: 'not supported by @tsetcd/rpc (W3C traceparent is propagated; there is no exporter)',
  Redis: 'not supported by @tsetcd/rpc (app/token auth takes a tokenStore option)',
  StrictControl: 'not supported by @tsetcd/rpc (app/token auth takes a tokenStore option)',
  ContinuousProfiling: 'not supported by @tsetcd/rpc',
};
const unsupportedClientFields: Record<string, string> = {
  Log: 'RpcClientConf has no Log in go-zero (it belongs to the service config)',
  Telemetry: 'not supported by @tsetcd/rpc (W3C traceparent is propagated; there is no exporter)',
};

type Obj = Record<string, unknown>;

class Reader {
  constructor(
    private readonly file: string | undefined,
    private readonly prefix: string,
    /** re-reading a conf this module produced: its duration numbers are milliseconds already */
    private readonly reparse = false,
  ) {}
  fail(field: string, reason: string): never {
    throw new ConfigError(this.prefix + field, reason, this.file);
  }
  child(field: string): Reader {
    return new Reader(this.file, `${this.prefix}${field}.`, this.reparse);
  }
  checkKeys(o: Obj, known: readonly string[], unsupported: Record<string, string> = {}): void {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      if (Object.hasOwn(unsupported, k)) {
        if (o[k] !== null && o[k] !== undefined) this.fail(k, unsupported[k]);
        continue;
      }
      this.fail(k, 'unknown field');
    }
  }
  oneOf<T extends string>(o: Obj, f: string, options: readonly T[], def: T): T {
    const v = this.str(o, f, { def })!;
    if (!options.includes(v as T)) this.fail(f, `must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }
  str(o: Obj, f: string, opts: { required?: boolean; def?: string } = {}): string | undefined {
    const v = o[f];
    if (v === undefined || v === null) {
      if (opts.required) this.fail(f, 'is required');
      return opts.def;
    }
    if (typeof v !== 'string') this.fail(f, `must be a string, got ${typeof v}`);
    if (opts.required && v === '') this.fail(f, 'must not be empty');
    return v;
  }
  bool(o: Obj, f: string, def: boolean): boolean {
    const v = o[f];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') this.fail(f, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  int(o: Obj, f: string, def: number, min: number, max: number): number {
    const v = o[f];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(f, `must be an integer, got ${JSON.stringify(v)}`);
    if (v < min || v > max) this.fail(f, `must be in [${min}, ${max}], got ${v}`);
    return v;
  }
  duration(o: Obj, f: string, def: number): number {
    const v = o[f];
    if (v === undefined || v === null) return def;
    const ms = this.reparse && typeof v === 'number' ? (Number.isFinite(v) && v >= 0 ? v : undefined) : parseDurationMs(v);
    if (ms === undefined) this.fail(f, `must be a Go duration like "500ms" or "1m30s" (a bare number is nanoseconds, as in go-zero), got ${JSON.stringify(v)}`);
    return ms;
  }
  obj(o: Obj, f: string): Obj | undefined {
    const v = o[f];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(f, 'must be a mapping');
    return v as Obj;
  }
  hostPort(v: unknown, f: string): string {
    if (typeof v !== 'string') this.fail(f, 'must be a host:port string');
    const m = /^(?:https?:\/\/)?(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(v);
    if (!m || Number(m[2]) > 65535) this.fail(f, `must be host:port, got ${JSON.stringify(v)}`);
    return v;
  }
  hostList(o: Obj, f: string, required: boolean): string[] | undefined {
    const v = o[f];
    if (v === undefined || v === null) {
      if (required) this.fail(f, 'is required');
      return undefined;
    }
    if (!Array.isArray(v) || v.length === 0) this.fail(f, 'must be a non-empty list of host:port');
    return v.map((h, i) => this.hostPort(h, `${f}[${i}]`));
  }
}

function readEtcd(r: Reader, o: Obj): EtcdConf {
  r.checkKeys(o, ['Hosts', 'Key', 'ID', 'User', 'Pass', 'CertFile', 'CertKeyFile', 'CACertFile', 'InsecureSkipVerify']);
  const conf: EtcdConf = { Hosts: r.hostList(o, 'Hosts', true)!, Key: r.str(o, 'Key', { required: true })! };
  if (conf.Key.includes('/') && conf.Key.endsWith('/')) r.fail('Key', 'must not end with "/"');
  if (o.ID !== undefined) {
    if (typeof o.ID !== 'number' && typeof o.ID !== 'string' && typeof o.ID !== 'bigint') r.fail('ID', 'must be an integer');
    let id: bigint;
    try {
      id = BigInt(o.ID as string);
    } catch {
      r.fail('ID', 'must be an integer');
    }
    if (id <= 0n || id >= 1n << 63n) r.fail('ID', 'must be a positive 64-bit integer');
    conf.ID = id;
  }
  conf.User = r.str(o, 'User');
  conf.Pass = r.str(o, 'Pass');
  if (conf.User && conf.Pass === undefined) r.fail('Pass', 'is required when User is set');
  conf.CertFile = r.str(o, 'CertFile');
  conf.CertKeyFile = r.str(o, 'CertKeyFile');
  conf.CACertFile = r.str(o, 'CACertFile');
  if ((conf.CertFile === undefined) !== (conf.CertKeyFile === undefined)) r.fail(conf.CertFile ? 'CertKeyFile' : 'CertFile', 'CertFile and CertKeyFile go together');
  conf.InsecureSkipVerify = r.bool(o, 'InsecureSkipVerify', false);
  return conf;
}

function readLog(r: Reader, o: Obj, name: string): LogConf {
  r.checkKeys(o, ['ServiceName', 'Mode', 'Encoding', 'Path', 'Level'], {
    TimeFormat: 'not supported by @tsetcd/rpc (times are ISO 8601)',
    MaxContentLength: 'not supported by @tsetcd/rpc',
    Compress: 'not supported by @tsetcd/rpc (no log rotation)',
    Stat: 'not supported by @tsetcd/rpc',
    KeepDays: 'not supported by @tsetcd/rpc (no log rotation)',
    StackCooldownMillis: 'not supported by @tsetcd/rpc',
    MaxBackups: 'not supported by @tsetcd/rpc (no log rotation)',
    MaxSize: 'not supported by @tsetcd/rpc (no log rotation)',
    Rotation: 'not supported by @tsetcd/rpc (no log rotation)',
    FileTimeFormat: 'not supported by @tsetcd/rpc (no log rotation)',
  });
  const serviceName = r.str(o, 'ServiceName', { def: '' })!;
  return {
    ServiceName: serviceName === '' ? name : serviceName,
    Mode: r.oneOf(o, 'Mode', ['console', 'file', 'volume'] as const, 'console'),
    Encoding: r.oneOf(o, 'Encoding', ['json', 'plain'] as const, 'json'),
    Path: r.str(o, 'Path', { def: 'logs' })!,
    Level: r.oneOf(o, 'Level', ['debug', 'info', 'error', 'severe'] as const, 'info'),
  };
}

function readPath(r: Reader, o: Obj, f: string, def: string): string {
  const p = r.str(o, f, { def })!;
  if (!p.startsWith('/')) r.fail(f, `must start with "/", got ${JSON.stringify(p)}`);
  return p;
}

function readPrometheus(r: Reader, o: Obj): PrometheusConf | undefined {
  r.checkKeys(o, ['Host', 'Port', 'Path']);
  const conf = { Host: r.str(o, 'Host', { def: '' })!, Port: r.int(o, 'Port', 9101, 0, 65535), Path: readPath(r, o, 'Path', '/metrics') };
  return conf.Host === '' ? undefined : conf; // go-zero: no Host, no agent
}

function readDevServer(r: Reader, o: Obj): DevServerConf | undefined {
  r.checkKeys(o, ['Enabled', 'Host', 'Port', 'MetricsPath', 'HealthPath', 'EnableMetrics', 'HealthResponse', 'EnablePprof']);
  if (r.bool(o, 'EnablePprof', false)) r.fail('EnablePprof', 'Go pprof has no Node equivalent (use node --inspect or --cpu-prof)');
  const conf: DevServerConf = {
    Enabled: r.bool(o, 'Enabled', true),
    Host: r.str(o, 'Host', { def: '' })!,
    Port: r.int(o, 'Port', 6060, 0, 65535),
    MetricsPath: readPath(r, o, 'MetricsPath', '/metrics'),
    HealthPath: readPath(r, o, 'HealthPath', '/healthz'),
    EnableMetrics: r.bool(o, 'EnableMetrics', true),
    HealthResponse: r.str(o, 'HealthResponse', { def: 'OK' })!,
  };
  return conf.Enabled ? conf : undefined;
}

export function parseServerConf(input: unknown, file?: string): RpcServerConf {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) new Reader(file, '').fail('(root)', 'must be a mapping');
  const o = input as Obj;
  const r = new Reader(file, '', isParsed(o));
  r.checkKeys(o, ['Name', 'ListenOn', 'Etcd', 'Mode', 'Timeout', 'CpuThreshold', 'Health', 'Middlewares', 'MethodTimeouts', 'Auth', 'Log', 'Prometheus', 'DevServer', 'Shutdown'], unsupportedServerFields);
  const name = r.str(o, 'Name', { required: true })!;
  const shutdown = r.obj(o, 'Shutdown') ?? {};
  const sr = r.child('Shutdown');
  sr.checkKeys(shutdown, ['WrapUpTime', 'WaitTime']);
  const prometheus = r.obj(o, 'Prometheus');
  const devServer = r.obj(o, 'DevServer');
  const etcd = r.obj(o, 'Etcd');
  const mode = r.str(o, 'Mode', { def: 'pro' }) as Mode;
  if (!modes.includes(mode)) r.fail('Mode', `must be one of ${modes.join(', ')}`);
  const mw = r.obj(o, 'Middlewares') ?? {};
  const mr = r.child('Middlewares');
  mr.checkKeys(mw, ['Trace', 'Recover', 'Stat', 'Prometheus', 'Breaker']);
  const mt: unknown = o.MethodTimeouts ?? [];
  if (!Array.isArray(mt)) r.fail('MethodTimeouts', 'must be a list');
  const methodTimeouts = (mt as unknown[]).map((m, i) => {
    const er = r.child(`MethodTimeouts[${i}]`);
    if (typeof m !== 'object' || m === null) er.fail('(item)', 'must be a mapping');
    er.checkKeys(m as Obj, ['FullMethod', 'Timeout']);
    const fullMethod = er.str(m as Obj, 'FullMethod', { required: true })!;
    if (!/^\/[^/]+\/[^/]+$/.test(fullMethod)) er.fail('FullMethod', 'must look like /package.Service/Method');
    return { FullMethod: fullMethod, Timeout: er.duration(m as Obj, 'Timeout', 0) };
  });
  return markParsed({
    Name: name,
    Log: readLog(r.child('Log'), r.obj(o, 'Log') ?? {}, name),
    Prometheus: prometheus ? readPrometheus(r.child('Prometheus'), prometheus) : undefined,
    DevServer: devServer ? readDevServer(r.child('DevServer'), devServer) : undefined,
    Shutdown: { WrapUpTime: sr.duration(shutdown, 'WrapUpTime', 1000), WaitTime: sr.duration(shutdown, 'WaitTime', 5500) },
    ListenOn: r.hostPort(o.ListenOn ?? r.fail('ListenOn', 'is required'), 'ListenOn'),
    Etcd: etcd ? readEtcd(r.child('Etcd'), etcd) : undefined,
    Mode: mode,
    Timeout: r.int(o, 'Timeout', 2000, 0, 86_400_000),
    CpuThreshold: r.int(o, 'CpuThreshold', 900, 0, 999),
    Health: r.bool(o, 'Health', true),
    Middlewares: {
      Trace: mr.bool(mw, 'Trace', true),
      Recover: mr.bool(mw, 'Recover', true),
      Stat: mr.bool(mw, 'Stat', true),
      Prometheus: mr.bool(mw, 'Prometheus', true),
      Breaker: mr.bool(mw, 'Breaker', true),
    },
    MethodTimeouts: methodTimeouts,
    Auth: r.bool(o, 'Auth', false),
  });
}

export function parseClientConf(input: unknown, file?: string): RpcClientConf {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) new Reader(file, '').fail('(root)', 'must be a mapping');
  const o = input as Obj;
  const r = new Reader(file, '', isParsed(o));
  r.checkKeys(o, ['Etcd', 'Endpoints', 'Target', 'App', 'Token', 'NonBlock', 'Timeout', 'KeepaliveTime', 'BalancerName', 'Middlewares'], unsupportedClientFields);
  const etcd = r.obj(o, 'Etcd');
  const endpoints = r.hostList(o, 'Endpoints', false);
  const target = r.str(o, 'Target');
  const sources = [etcd, endpoints, target].filter((x) => x !== undefined).length;
  if (sources === 0) r.fail('Etcd', 'one of Etcd, Endpoints or Target is required');
  if (sources > 1) r.fail(etcd ? 'Etcd' : 'Endpoints', 'only one of Etcd, Endpoints or Target may be set');
  if (target !== undefined && !/^([a-z][a-z0-9+.-]*:\/\/|(dns|ipv4|ipv6|unix):)/.test(target)) r.fail('Target', 'must be a URI like etcd:///host:2379?key=hello.rpc, etcd://host:2379/hello.rpc or direct:///host:port');
  const mw = r.obj(o, 'Middlewares') ?? {};
  const mr = r.child('Middlewares');
  mr.checkKeys(mw, ['Trace', 'Duration', 'Prometheus', 'Breaker', 'Timeout']);
  const balancer = r.str(o, 'BalancerName', { def: 'p2c_ewma' })!;
  if (!['p2c_ewma', 'consistent_hash', 'round_robin', 'pick_first'].includes(balancer)) r.fail('BalancerName', 'must be p2c_ewma, consistent_hash, round_robin or pick_first');
  const app = r.str(o, 'App');
  const token = r.str(o, 'Token');
  if ((app === undefined) !== (token === undefined)) r.fail(app === undefined ? 'App' : 'Token', 'App and Token go together');
  return markParsed({
    Etcd: etcd ? readEtcd(r.child('Etcd'), etcd) : undefined,
    Endpoints: endpoints,
    Target: target,
    App: app,
    Token: token,
    NonBlock: r.bool(o, 'NonBlock', false),
    Timeout: r.int(o, 'Timeout', 2000, 0, 86_400_000),
    KeepaliveTime: r.duration(o, 'KeepaliveTime', 0),
    BalancerName: balancer,
    Middlewares: {
      Trace: mr.bool(mw, 'Trace', true),
      Duration: mr.bool(mw, 'Duration', true),
      Prometheus: mr.bool(mw, 'Prometheus', true),
      Breaker: mr.bool(mw, 'Breaker', true),
      Timeout: mr.bool(mw, 'Timeout', true),
    },
  });
}

// A parsed conf carries a symbol mark (kept by object spread), so parsing it again (RpcServer,
// RpcClient.create) reads its duration numbers as the milliseconds they are, not nanoseconds.
const parsedMark = Symbol('tsetcd.rpc.parsedConf');
function markParsed<T extends object>(conf: T): T {
  (conf as { [parsedMark]?: boolean })[parsedMark] = true;
  return conf;
}
function isParsed(o: Obj): boolean {
  return (o as { [parsedMark]?: boolean })[parsedMark] === true;
}

export interface LoadOptions {
  /** go-zero's conf.UseEnv(): expand $VAR and ${VAR} in the file text before parsing */
  useEnv?: boolean;
  env?: NodeJS.ProcessEnv;
}

function readYaml(file: string, opts: LoadOptions = {}): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', (err as Error).message, file);
  }
  if (opts.useEnv) text = expandEnv(text, opts.env);
  try {
    // an Etcd.ID beyond 2^53 must be quoted in YAML to stay exact
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError('(yaml)', (err as Error).message.split('\n')[0], file);
  }
}

export function loadServerConf(file: string, opts: LoadOptions = {}): RpcServerConf {
  return parseServerConf(readYaml(file, opts), file);
}

export function loadClientConf(file: string, opts: LoadOptions = {}): RpcClientConf {
  return parseClientConf(readYaml(file, opts), file);
}
