// grpc-js name resolvers for `etcd://host1,host2/key` (or `etcd:///key` with hosts given
// through RpcClient) and `direct://host1:port,host2:port`. Discovery subscribers are
// shared per (etcd hosts, key) in the process and reference-counted.
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
    this.key = target.path.replace(/^\//, '');
    const confId = options[etcdConfOption] as string | undefined;
    const registered = confId ? etcdConfs.get(confId) : undefined;
    this.hosts = registered?.conf.Hosts ?? (target.authority ?? '').split(',').filter(Boolean);
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

  updateResolution(): void {
    if (!this.shared) {
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
    if (this.shared) release(this.cacheKey);
    this.shared = undefined;
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return target.path.replace(/^\//, '');
  }
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
