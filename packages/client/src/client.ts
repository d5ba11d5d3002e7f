// The client: one object owning the connections, the shared watch and keepalive streams, and the
// typed APIs built on the raw layer.
import { Auth } from './auth.js';
import type { Bytes } from './bytes.js';
import { Cluster } from './cluster.js';
import {
  KV,
  type DeleteOptions,
  type DeleteResult,
  type GetResult,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type ResponseHeader,
} from './kv.js';
import { KeepAliveManager, Lease } from './lease.js';
import { Maintenance } from './maintenance.js';
import type { ClientOptions } from './options.js';
import { makeRaw, type RawClient } from './raw.js';
import { Transport, type CallOptions } from './transport.js';
import { Txn } from './txn.js';
import { WatchManager, type WatchOptions, type Watcher } from './watch.js';

export class Client {
  /** Every unary method of every etcd service, promisified, plus the raw streams. */
  readonly raw: RawClient;
  readonly kv: KV;
  readonly lease: Lease;
  readonly cluster: Cluster;
  readonly maintenance: Maintenance;
  readonly auth: Auth;
  /** @internal */ readonly transport: Transport;
  private readonly watches: WatchManager;
  private readonly keepAlives: KeepAliveManager;
  private closed = false;

  constructor(readonly options: ClientOptions) {
    this.transport = new Transport(options);
    this.raw = makeRaw(this.transport);
    this.kv = new KV(this.raw);
    this.keepAlives = new KeepAliveManager(this.transport);
    this.lease = new Lease(this.raw, this.keepAlives);
    this.cluster = new Cluster(this.raw);
    this.maintenance = new Maintenance(this.raw);
    this.auth = new Auth(this.raw);
    this.watches = new WatchManager(this.transport, options.watchRequireLeader ?? true);
  }

  /** Endpoint URLs as configured. */
  get endpoints(): string[] {
    return this.transport.pool.endpoints.map((e) => e.url);
  }

  /** The endpoint calls currently go to (changes on failover). */
  get activeEndpoint(): string {
    return this.transport.pool.activeEndpoint.url;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get(key: Bytes, opts?: RangeOptions & CallOptions): Promise<GetResult> {
    return this.kv.get(key, opts);
  }

  put(key: Bytes, value: Bytes, opts?: PutOptions & CallOptions): Promise<PutResult> {
    return this.kv.put(key, value, opts);
  }

  delete(key: Bytes, opts?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    return this.kv.delete(key, opts);
  }

  /** A transaction builder: client.txn().if(...).then(...).else(...).commit(). */
  txn(opts?: CallOptions): Txn {
    return new Txn(this.raw, opts);
  }

  compact(revision: bigint | number, opts?: { physical?: boolean } & CallOptions): Promise<{ header: ResponseHeader }> {
    return this.kv.compact(revision, opts);
  }

  /** Watches a key (or range); iterate the result with `for await`, stop it with stop(). */
  watch(key: Bytes, opts?: WatchOptions): Watcher {
    return this.watches.watch(key, opts);
  }

  /** Asks the server for a progress notification on the shared watch stream. */
  requestProgress(): void {
    this.watches.requestProgress();
  }

  /** Waits until some endpoint is connected (UnavailableError after the dial timeout). */
  async connect(): Promise<void> {
    await this.transport.pick();
  }

  /** Closes every stream and connection; pending calls fail with ClientClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watches.close();
    this.keepAlives.close();
    this.transport.close();
  }
}
