// RpcServerConf / RpcClientConf with go-zero's field names and defaults, loaded from
// YAML (or given as objects) and validated: a bad field is refused with its path and why.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { parseDurationMs } from './duration.js';
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

export interface RpcServerConf {
  Name: string;
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

// ServiceConf fields go-zero accepts that this framework does not use: allowed, ignored.
const ignoredServerFields = new Set(['Log', 'MetricsUrl', 'Prometheus', 'Telemetry', 'DevServer', 'Shutdown', 'Redis', 'StrictControl', 'Profiling']);
const ignoredClientFields = new Set(['Log', 'Telemetry']);

type Obj = Record<string, unknown>;

class Reader {
  constructor(
    private readonly file: string | undefined,
    private readonly prefix: string,
  ) {}
  fail(field: string, reason: string): never {
    throw new ConfigError(this.prefix + field, reason, this.file);
  }
  child(field: string): Reader {
    return new Reader(this.file, `${this.prefix}${field}.`);
  }
  checkKeys(o: Obj, known: readonly string[], ignored: ReadonlySet<string> = new Set()): void {
    for (const k of Object.keys(o)) if (!known.includes(k) && !ignored.has(k)) this.fail(k, 'unknown field');
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
    const ms = parseDurationMs(v);
    if (ms === undefined) this.fail(f, `must be a duration like "2s" or milliseconds, got ${JSON.stringify(v)}`);
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

export function parseServerConf(input: unknown, file?: string): RpcServerConf {
  const r = new Reader(file, '');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) r.fail('(root)', 'must be a mapping');
  const o = input as Obj;
  r.checkKeys(o, ['Name', 'ListenOn', 'Etcd', 'Mode', 'Timeout', 'CpuThreshold', 'Health', 'Middlewares', 'MethodTimeouts', 'Auth'], ignoredServerFields);
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
  return {
    Name: r.str(o, 'Name', { required: true })!,
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
  };
}

export function parseClientConf(input: unknown, file?: string): RpcClientConf {
  const r = new Reader(file, '');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) r.fail('(root)', 'must be a mapping');
  const o = input as Obj;
  r.checkKeys(o, ['Etcd', 'Endpoints', 'Target', 'App', 'Token', 'NonBlock', 'Timeout', 'KeepaliveTime', 'BalancerName', 'Middlewares'], ignoredClientFields);
  const etcd = r.obj(o, 'Etcd');
  const endpoints = r.hostList(o, 'Endpoints', false);
  const target = r.str(o, 'Target');
  const sources = [etcd, endpoints, target].filter((x) => x !== undefined).length;
  if (sources === 0) r.fail('Etcd', 'one of Etcd, Endpoints or Target is required');
  if (sources > 1) r.fail(etcd ? 'Etcd' : 'Endpoints', 'only one of Etcd, Endpoints or Target may be set');
  if (target !== undefined && !/^([a-z][a-z0-9+.-]*:\/\/|(dns|ipv4|ipv6|unix):)/.test(target)) r.fail('Target', 'must be a URI like etcd://host:2379/key or direct://host:port');
  const mw = r.obj(o, 'Middlewares') ?? {};
  const mr = r.child('Middlewares');
  mr.checkKeys(mw, ['Trace', 'Duration', 'Prometheus', 'Breaker', 'Timeout']);
  const balancer = r.str(o, 'BalancerName', { def: 'p2c_ewma' })!;
  if (!['p2c_ewma', 'consistent_hash', 'round_robin', 'pick_first'].includes(balancer)) r.fail('BalancerName', 'must be p2c_ewma, consistent_hash, round_robin or pick_first');
  const app = r.str(o, 'App');
  const token = r.str(o, 'Token');
  if ((app === undefined) !== (token === undefined)) r.fail(app === undefined ? 'App' : 'Token', 'App and Token go together');
  return {
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
  };
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', (err as Error).message, file);
  }
  try {
    // an Etcd.ID beyond 2^53 must be quoted in YAML to stay exact
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError('(yaml)', (err as Error).message.split('\n')[0], file);
  }
}

export function loadServerConf(file: string): RpcServerConf {
  return parseServerConf(readYaml(file), file);
}

export function loadClientConf(file: string): RpcClientConf {
  return parseClientConf(readYaml(file), file);
}
