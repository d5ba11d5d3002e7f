// Registry implemented directly over etcd's v3 gRPC API (etcdserverpb KV, Lease, Watch,
// Auth) with @grpc/grpc-js and a tiny hand-written codec for just the fields we use.
// Field numbers follow etcd's rpc.proto / kv.proto.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ProtoWriter, decodeFields, int64Of, bytesOf, boolOf, messagesOf } from '../internal/proto-wire.js';
import { RegistryClosedError, RegistryError, WatchCompactedError } from '../errors.js';
import type {
  LeaseKeeper,
  Registry,
  RegistryEvent,
  RegistryKeyValue,
  RegistryWatch,
  RegistryWatchBatch,
} from './registry.js';
import type { EtcdConf } from './etcd-auth.js';

const requestTimeoutMs = 5_000;
const identity = (b: Buffer): Buffer => b;

function decodeKv(buf: Buffer): RegistryKeyValue {
  const f = decodeFields(buf);
  return {
    key: bytesOf(f, 1).toString(),
    modRevision: int64Of(f, 3),
    value: bytesOf(f, 5).toString(),
    lease: int64Of(f, 6),
  };
}

function headerRevision(f: Map<number, unknown[]>): bigint {
  const header = messagesOf(f as never, 1)[0];
  return header ? int64Of(decodeFields(header), 3) : 0n;
}

/** grpc-js target for a host list: ipv4:/ipv6: lists for IP literals, dns: otherwise. */
export function etcdTarget(hosts: string[]): string {
  if (hosts.length === 0) throw new RegistryError('etcd: no hosts');
  const stripped = hosts.map((h) => h.replace(/^https?:\/\//, '').replace(/^localhost:/, '127.0.0.1:'));
  const hostOf = (h: string) => (h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.slice(0, h.lastIndexOf(':')));
  if (stripped.every((h) => isIP(hostOf(h)) === 4)) return `ipv4:${stripped.join(',')}`;
  if (stripped.every((h) => isIP(hostOf(h)) === 6)) return `ipv6:${stripped.join(',')}`;
  return `dns:${stripped[0]}`;
}

export class EtcdRegistry implements Registry {
  private readonly client: grpc.Client;
  private token: string | undefined;
  private authPending: Promise<void> | undefined;
  private closed = false;
  private readonly closers = new Set<() => void>();

  constructor(private readonly conf: Pick<EtcdConf, 'Hosts' | 'User' | 'Pass' | 'CertFile' | 'CertKeyFile' | 'CACertFile' | 'InsecureSkipVerify'>) {
    let creds = grpc.credentials.createInsecure();
    const tls = conf.CACertFile || conf.CertFile || conf.Hosts.some((h) => h.startsWith('https://'));
    if (tls) {
      creds = grpc.credentials.createSsl(
        conf.CACertFile ? readFileSync(conf.CACertFile) : null,
        conf.CertKeyFile ? readFileSync(conf.CertKeyFile) : null,
        conf.CertFile ? readFileSync(conf.CertFile) : null,
        conf.InsecureSkipVerify ? { checkServerIdentity: () => undefined } : undefined,
      );
    }
    this.client = new grpc.Client(etcdTarget(conf.Hosts), creds, {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1_000,
    });
  }

  private async metadata(): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (this.conf.User) {
      if (!this.token) await this.authenticate();
      if (this.token) md.set('token', this.token);
    }
    return md;
  }

  private authenticate(): Promise<void> {
    this.authPending ??= (async () => {
      const req = new ProtoWriter().bytes(1, this.conf.User).bytes(2, this.conf.Pass ?? '').finish();
      const res = await this.rawUnary('/etcdserverpb.Auth/Authenticate', req, new grpc.Metadata());
      this.token = bytesOf(decodeFields(res), 2).toString();
    })().finally(() => {
      this.authPending = undefined;
    });
    return this.authPending;
  }

  private rawUnary(path: string, req: Buffer, md: grpc.Metadata): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, identity, identity, req, md, { deadline: Date.now() + requestTimeoutMs }, (err, res) => {
        if (err) reject(new RegistryError(`etcd ${path}: ${err.details || err.message}`, { cause: err }));
        else resolve(res ?? Buffer.alloc(0));
      });
    });
  }

  private async unary(path: string, req: Buffer): Promise<Map<number, import('../internal/proto-wire.js').WireValue[]>> {
    if (this.closed) throw new RegistryClosedError();
    try {
      return decodeFields(await this.rawUnary(path, req, await this.metadata()));
    } catch (err) {
      const cause = (err as { cause?: { details?: string } }).cause;
      if (this.conf.User && cause?.details?.includes('invalid auth token')) {
        this.token = undefined;
        return decodeFields(await this.rawUnary(path, req, await this.metadata()));
      }
      throw err;
    }
  }

  async grant(ttlSec: number): Promise<bigint> {
    const f = await this.unary('/etcdserverpb.Lease/LeaseGrant', new ProtoWriter().uint(1, ttlSec).finish());
    const error = bytesOf(f, 4).toString();
    if (error) throw new RegistryError(`etcd grant: ${error}`);
    return int64Of(f, 2);
  }

  async revoke(lease: bigint): Promise<void> {
    await this.unary('/etcdserverpb.Lease/LeaseRevoke', new ProtoWriter().uint(1, lease).finish());
  }

  async put(key: string, value: string, lease = 0n): Promise<bigint> {
    const req = new ProtoWriter().bytes(1, key).bytes(2, value).uint(3, lease).finish();
    return headerRevision(await this.unary('/etcdserverpb.KV/Put', req));
  }

  async range(key: string, rangeEnd?: string): Promise<{ kvs: RegistryKeyValue[]; revision: bigint }> {
    const f = await this.unary('/etcdserverpb.KV/Range', new ProtoWriter().bytes(1, key).bytes(2, rangeEnd).finish());
    return { kvs: messagesOf(f, 2).map(decodeKv), revision: headerRevision(f) };
  }

  async delete(key: string, rangeEnd?: string): Promise<void> {
    await this.unary('/etcdserverpb.KV/DeleteRange', new ProtoWriter().bytes(1, key).bytes(2, rangeEnd).finish());
  }

  keepAlive(lease: bigint, ttlSec: number, onLost: (reason: string) => void): LeaseKeeper {
    const ttlMs = ttlSec * 1000;
    const intervalMs = Math.max(250, Math.floor(ttlMs / 3));
    let stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
    let lastAckAt = Date.now();
    let done = false;
    let opening = false;
    const finish = (reason?: string) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      this.closers.delete(stop);
      stream?.cancel();
      stream = undefined;
      if (reason) onLost(reason);
    };
    const stop = () => finish();
    const open = async () => {
      const md = await this.metadata().catch(() => undefined);
      if (done || !md) return;
      const s = this.client.makeBidiStreamRequest('/etcdserverpb.Lease/LeaseKeepAlive', identity, identity, md);
      stream = s;
      s.on('data', (buf: Buffer) => {
        const f = decodeFields(buf);
        if (int64Of(f, 3) <= 0n) finish(`lease ${lease} expired`);
        else lastAckAt = Date.now();
      });
      s.on('error', () => {
        if (stream === s) stream = undefined;
      });
      s.on('end', () => {
        if (stream === s) stream = undefined;
      });
    };
    const tick = () => {
      if (done) return;
      if (Date.now() - lastAckAt > ttlMs) {
        finish(`lease ${lease} not renewed for ${ttlSec}s`);
        return;
      }
      if (!stream) {
        if (opening) return;
        opening = true;
        void open()
          .then(() => stream?.write(new ProtoWriter().uint(1, lease).finish()))
          .finally(() => (opening = false));
        return;
      }
      stream.write(new ProtoWriter().uint(1, lease).finish());
    };
    const timer = setInterval(tick, intervalMs);
    this.closers.add(stop);
    tick();
    return { stop };
  }

  watch(key: string, rangeEnd: string | undefined, startRevision: bigint): RegistryWatch {
    const queue: RegistryWatchBatch[] = [];
    let failure: Error | undefined;
    let ended = false;
    let wake: (() => void) | undefined;
    let stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      failure = err;
      this.closers.delete(stop);
      const s = stream;
      stream = undefined;
      s?.cancel();
      notify();
    };
    const stop = () => end();
    this.closers.add(stop);
    void this.metadata().then(
      (md) => {
        if (ended) return;
        const s = this.client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity, md);
        stream = s;
        s.on('data', (buf: Buffer) => {
          const f = decodeFields(buf);
          const compactRevision = int64Of(f, 5);
          if (boolOf(f, 4)) {
            end(compactRevision > 0n ? new WatchCompactedError(compactRevision) : new RegistryError(`etcd watch canceled: ${bytesOf(f, 6).toString()}`));
            return;
          }
          const events: RegistryEvent[] = messagesOf(f, 11).map((e) => {
            const ef = decodeFields(e);
            const kv = decodeKv(messagesOf(ef, 2)[0] ?? Buffer.alloc(0));
            return { type: int64Of(ef, 1) === 1n ? 'delete' : 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision };
          });
          queue.push({ revision: headerRevision(f), events });
          notify();
        });
        s.on('error', (err: grpc.ServiceError) => end(new RegistryError(`etcd watch: ${err.details || err.message}`, { cause: err })));
        s.on('end', () => end(new RegistryError('etcd watch stream ended')));
        const create = new ProtoWriter().bytes(1, key).bytes(2, rangeEnd).uint(3, startRevision);
        s.write(new ProtoWriter().message(1, create).finish());
      },
      (err: Error) => end(err),
    );
    return {
      stop,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<RegistryWatchBatch>> => {
          for (;;) {
            const batch = queue.shift();
            if (batch) return { value: batch, done: false };
            if (ended) {
              if (failure) {
                const f = failure;
                failure = undefined;
                throw f;
              }
              return { value: undefined, done: true };
            }
            await new Promise<void>((r) => (wake = r));
          }
        },
        return: async (): Promise<IteratorResult<RegistryWatchBatch>> => {
          stop();
          return { value: undefined, done: true };
        },
      }),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.closers]) c();
    this.client.close();
  }
}
