// grpc-js name resolvers for etcd and direct targets. etcd targets come in go-zero's two forms:
// `etcd:///host1:2379,host2:2379?key=hello.rpc` (current: hosts in the path, key in the query)
// and `etcd://host1:2379/hello.rpc` (older: hosts in the authority, key in the path); RpcClient
// adds the Etcd conf (hosts, auth, TLS) as a channel option. Also `direct:///host1:port,host2:port`.
// Discovery subscribers are shared per (etcd hosts, key) in the process and reference-counted.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { experimental } from '@grpc/grpc-js';
import { defaultRegistry } from './default-registry.js';
import type { Registry } from './registry.js';
import { Subscriber } from './subscriber.js';
import { stableSubset, subsetSize } from './subset.js';
import type { EtcdConf } from './etcd-auth.js';

/** Channel option naming an EtcdConf registered with registerEtcdConf (hosts, auth, TLS). */
export const etcdConfOption = 'tsetcd.etcd_conf';
/** Channel option overriding the subset size (default 32). */
export const subsetSizeOption = 'tsetcd.subset_size';

type EtcdConnConf = Omit<EtcdConf, 'Key' | 'ID'>;
const etcdConfs = new Map<string, { conf: EtcdConnConf; registry?: () => Registry }>();
let confSeq = 0;

/** Makes an etcd connection config (and optionally a registry factory) usable by channels. */
export function registerEtcdConf(conf: EtcdConnConf, registry?: () => Registry): string {
  const id = `etcd-${++confSeq}`;
  etcdConfs.set(id, { conf, registry });
  return id;
}

export function unregisterEtcdConf(id: string): void {
  etcdConfs.delete(id);
}

interface Shared {
  registry: Registry;
  subscriber: Subscriber;
  refs: number;
}
const shared = new Map<string, Shared>();

function acquire(cacheKey: string, key: string, makeRegistry: () => Registry): Shared {
  let s = shared.get(cacheKey);
  if (!s) {
    const registry = makeRegistry();
    s = { registry, subscriber: new Subscriber(registry, key), refs: 0 };
    shared.set(cacheKey, s);
    void s.subscriber.start();
  }
  s.refs++;
  return s;
}

export interface DiscoveryState {
  /** etcd hosts asked */
  hosts: string[];
  key: string;
  /** true once etcd answered a listing of `<key>/` */
  listed: boolean;
  /** the registered addresses (as last listed / watched) */
  addresses: string[];
  /** why etcd could not be read, if it could not */
  lastError?: string;
}

const resolverStates = new Map<string, () => DiscoveryState>();

/**
 * What the etcd resolver behind a channel knows right now: the channel's target string and,
 * for RpcClient's channels, its Etcd conf id. Undefined for targets that are not etcd://.
 */
export function discoveryState(target: string, confId?: string): DiscoveryState | undefined {
  // grpc-js's URI grammar: scheme ":" ["//" authority "/"] path
  const m = /^([A-Za-z0-9+.-]+):(?:\/\/([^/]*)\/)?(.+)$/.exec(target);
  if (!m || m[1] !== 'etcd') return undefined;
  const { hosts, key } = parseEtcdTarget({ scheme: m[1], authority: m[2], path: m[3] });
  return resolverStates.get(`${confId ?? hosts.join(',')}|${key}`)?.();
}

function release(cacheKey: string): void {
  const s = shared.get(cacheKey);
  if (!s || --s.refs > 0) return;
  shared.delete(cacheKey);
  s.subscriber.stop();
  s.registry.close();
}

async function toEndpoints(addresses: string[]): Promise<experimental.Endpoint[]> {
  const out: experimental.Endpoint[] = [];
  for (const a of addresses) {
    const idx = a.lastIndexOf(':');
    if (idx <= 0) continue;
    let host = a.slice(0, idx).replace(/^\[|\]$/g, '');
    const port = Number(a.slice(idx + 1));
    if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
    if (isIP(host) === 0) {
      try {
        host = (await lookup(host)).address;
      } catch {
        continue;
      }
    }
    out.push({ addresses: [{ host, port }] });
  }
  return out;
}

class EtcdResolver implements experimental.Resolver {
  private readonly cacheKey: string;
  private readonly key: string;
  private readonly hosts: string[];
  private shared: Shared | undefined;
  private unsubscribe: (() => void) | undefined;
  private chosen: string[] = [];
  private readonly subsetSize: number;
  private readonly makeRegistry: () => Registry;

  constructor(
    target: experimental.GrpcUri,
    private readonly listener: experimental.ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    const parsed = parseEtcdTarget(target);
    this.key = parsed.key;
    const confId = options[etcdConfOption] as string | undefined;
    const registered = confId ? etcdConfs.get(confId) : undefined;
    this.hosts = registered?.conf.Hosts ?? parsed.hosts;
    if (this.key === '') throw new Error(`etcd resolver: no key in target ${experimental.uriToString(target)}`);
    if (this.hosts.length === 0) throw new Error(`etcd resolver: no etcd hosts for ${experimental.uriToString(target)}`);
    this.cacheKey = `${confId ?? this.hosts.join(',')}|${this.key}`;
    this.makeRegistry = registered?.registry ?? (() => defaultRegistry(registered?.conf ?? { Hosts: this.hosts }));
    this.subsetSize = (options[subsetSizeOption] as number | undefined) ?? subsetSize;
  }

  private push(addresses: string[]): void {
    this.chosen = stableSubset(addresses, this.chosen, this.subsetSize);
    const chosen = this.chosen;
    void toEndpoints(chosen).then((endpoints) => {
      if (this.shared && chosen === this.chosen) this.listener(experimental.statusOrFromValue(endpoints), {}, null, '');
    });
  }

  private state(): DiscoveryState {
    const sub = this.shared?.subscriber;
    return { hosts: this.hosts, key: this.key, listed: (sub?.listings ?? 0) > 0, addresses: sub?.current ?? [], lastError: sub?.lastError?.message };
  }

  updateResolution(): void {
    if (!this.shared) {
      resolverStates.set(this.cacheKey, () => this.state());
      this.shared = acquire(this.cacheKey, this.key, this.makeRegistry);
      const sub = this.shared.subscriber;
      this.unsubscribe = sub.onChange((addrs) => this.push(addrs));
      void sub.start().then(() => {
        if (this.shared) this.push(sub.current);
      });
      return;
    }
    // re-resolution request: report what we know (the subscriber pushes changes itself)
    const current = this.shared.subscriber.current;
    if (this.shared.subscriber.listings > 0) setImmediate(() => this.shared && this.push(current));
  }

  destroy(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.shared) {
      release(this.cacheKey);
      if (!shared.has(this.cacheKey)) resolverStates.delete(this.cacheKey);
    }
    this.shared = undefined;
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return parseEtcdTarget(target).key;
  }
}

/** go-zero's targets.GetHosts / GetKey for both etcd target forms. */
export function parseEtcdTarget(target: experimental.GrpcUri): { hosts: string[]; key: string } {
  const split = (list: string) => list.split(',').map((h) => h.trim()).filter(Boolean);
  const path = target.path.replace(/^\/+/, '');
  if (!target.authority) {
    const q = path.indexOf('?');
    if (q >= 0) return { hosts: split(path.slice(0, q).replace(/\/+$/, '')), key: new URLSearchParams(path.slice(q + 1)).get('key') ?? '' };
  }
  return { hosts: split(target.authority ?? ''), key: path.replace(/\/+$/, '') };
}

/** go-zero's resolver.BuildDiscovTarget: `etcd:///h1:2379,h2:2379?key=<key>`. */
export function buildDiscovTarget(hosts: string[], key: string): string {
  return `etcd:///${hosts.join(',')}?key=${encodeURIComponent(key)}`;
}

class DirectResolver implements experimental.Resolver {
  private readonly addresses: string[];
  private done = false;
  constructor(
    target: experimental.GrpcUri,
    private readonly listener: experimental.ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    // 'direct://a:1,b:2' parses as path '//a:1,b:2' (grpc-js wants a '/' after the authority)
    const list = target.authority ? target.authority : target.path.replace(/^\/+/, '');
    const all = list.split(',').map((s) => s.trim()).filter(Boolean);
    if (all.length === 0) throw new Error(`direct resolver: no addresses in ${experimental.uriToString(target)}`);
    this.addresses = stableSubset(all, [], (options[subsetSizeOption] as number | undefined) ?? subsetSize);
  }
  updateResolution(): void {
    this.done = false;
    void toEndpoints(this.addresses).then((eps) => {
      if (!this.done) this.listener(experimental.statusOrFromValue(eps), {}, null, '');
    });
  }
  destroy(): void {
    this.done = true;
  }
  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return (target.authority || target.path.replace(/^\/+/, '')).split(',')[0] ?? 'direct';
  }
}

let registered = false;
/** Registers the etcd:// and direct:// schemes with grpc-js (idempotent). */
export function registerResolvers(): void {
  if (registered) return;
  registered = true;
  experimental.registerResolver('etcd', EtcdResolver);
  experimental.registerResolver('direct', DirectResolver);
}
