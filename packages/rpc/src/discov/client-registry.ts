// Registry implemented over @tsetcd/client (the project's etcd v3 client): its lease
// keepalive manager, its watch streams (which resume across reconnects on their own) and
// its endpoint failover.
import { readFileSync } from 'node:fs';
import { Client, CompactedError, type ClientOptions } from '@tsetcd/client';
import { RegistryError, WatchCompactedError } from '../errors.js';
import type { LeaseKeeper, Registry, RegistryKeyValue, RegistryWatch, RegistryWatchBatch } from './registry.js';
import type { EtcdConf } from './etcd-auth.js';

const requestTimeoutMs = 5_000;

function wrap(err: unknown, what: string): RegistryError {
  return new RegistryError(`etcd ${what}: ${(err as Error).message}`, { cause: err });
}

export function clientOptionsFor(conf: Omit<EtcdConf, 'Key' | 'ID'>): ClientOptions {
  const tls = conf.CACertFile || conf.CertFile || conf.InsecureSkipVerify
    ? {
        ca: conf.CACertFile ? readFileSync(conf.CACertFile) : undefined,
        cert: conf.CertFile ? readFileSync(conf.CertFile) : undefined,
        key: conf.CertKeyFile ? readFileSync(conf.CertKeyFile) : undefined,
        insecureSkipVerify: conf.InsecureSkipVerify,
      }
    : undefined;
  return {
    endpoints: conf.Hosts,
    requestTimeout: requestTimeoutMs,
    dialTimeout: requestTimeoutMs,
    username: conf.User || undefined,
    password: conf.User ? conf.Pass : undefined,
    tls,
  };
}

export class ClientRegistry implements Registry {
  private readonly client: Client;
  private readonly owned: boolean;

  /** Uses the given client (not closed by close()) or makes one from an EtcdConf. */
  constructor(source: Client | Omit<EtcdConf, 'Key' | 'ID'>) {
    this.owned = !(source instanceof Client);
    this.client = source instanceof Client ? source : new Client(clientOptionsFor(source));
  }

  async grant(ttlSec: number): Promise<bigint> {
    try {
      return (await this.client.lease.grant(ttlSec)).id;
    } catch (err) {
      throw wrap(err, 'grant');
    }
  }

  keepAlive(lease: bigint, _ttlSec: number, onLost: (reason: string) => void): LeaseKeeper {
    const ka = this.client.lease.keepAlive(lease);
    ka.on('lost', (err) => onLost(err.message));
    return { stop: () => ka.stop() };
  }

  async revoke(lease: bigint): Promise<void> {
    try {
      await this.client.lease.revoke(lease);
    } catch (err) {
      throw wrap(err, 'revoke');
    }
  }

  async put(key: string, value: string, lease = 0n): Promise<bigint> {
    try {
      return (await this.client.put(key, value, lease !== 0n ? { lease } : {})).revision;
    } catch (err) {
      throw wrap(err, 'put');
    }
  }

  async range(key: string, rangeEnd?: string): Promise<{ kvs: RegistryKeyValue[]; revision: bigint }> {
    try {
      const res = await this.client.get(key, rangeEnd !== undefined ? { rangeEnd } : {});
      return {
        revision: res.revision,
        kvs: res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: kv.modRevision, lease: kv.lease })),
      };
    } catch (err) {
      throw wrap(err, 'range');
    }
  }

  async delete(key: string, rangeEnd?: string): Promise<void> {
    try {
      await this.client.delete(key, rangeEnd !== undefined ? { rangeEnd } : {});
    } catch (err) {
      throw wrap(err, 'delete');
    }
  }

  watch(key: string, rangeEnd: string | undefined, startRevision: bigint): RegistryWatch {
    const watcher = this.client.watch(key, { ...(rangeEnd !== undefined ? { rangeEnd } : {}), startRevision });
    const batches = watcher.batches();
    return {
      stop: () => void watcher.stop(),
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<RegistryWatchBatch>> => {
          try {
            for (;;) {
              const r = await batches.next();
              if (r.done) return { done: true, value: undefined };
              if (r.value.progress) continue;
              return {
                done: false,
                value: {
                  revision: r.value.revision,
                  events: r.value.events.map((e) => ({ type: e.type, key: e.kv.key.toString(), value: e.kv.value.toString(), modRevision: e.kv.modRevision })),
                },
              };
            }
          } catch (err) {
            if (err instanceof CompactedError) throw new WatchCompactedError(err.compactRevision ?? 0n);
            throw wrap(err, 'watch');
          }
        },
        return: async (): Promise<IteratorResult<RegistryWatchBatch>> => {
          await watcher.stop();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  close(): void {
    if (this.owned) void this.client.close();
  }
}
