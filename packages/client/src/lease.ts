// Leases: grant / revoke / time-to-live / list, and keepAlive. Every kept-alive lease of a client
// shares one LeaseKeepAlive stream; each is refreshed every TTL/3 (as clientv3 does) and is
// reported lost when a refresh says TTL <= 0 or no refresh arrived for a whole TTL.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { toInt64 } from './bytes.js';
import { ClientClosedError, DeadlineExceededError, InvalidAuthTokenError, LeaseLostError, toClientError, type EtcdClientError } from './errors.js';
import { header, type ResponseHeader } from './kv.js';
import { StreamRetry } from './stream-retry.js';
import type { RawClient } from './raw.js';
import type { CallOptions, Transport } from './transport.js';

export interface LeaseGrantResult {
  header: ResponseHeader;
  id: bigint;
  /** Seconds. */
  ttl: bigint;
}
export interface LeaseTimeToLiveResult {
  header: ResponseHeader;
  id: bigint;
  /** Remaining seconds; -1 when the lease does not exist (expired or revoked). */
  ttl: bigint;
  grantedTtl: bigint;
  keys: Buffer[];
}
export interface KeepAliveResponse {
  header: ResponseHeader;
  id: bigint;
  ttl: bigint;
}

/** Wait before resending a keepalive that got no answer (clientv3's loop period is 500 ms too). */
const keepAliveResendMs = 500;
/** How long to wait for the first keepalive answer before declaring the lease lost. */
const firstKeepAliveTimeoutMs = 10_000;

interface KeepAliveEvents {
  keepalive: [resp: KeepAliveResponse];
  lost: [err: LeaseLostError];
  /** stop() was called (by the user, or by client.close()). */
  stopped: [];
}

/**
 * Keeps one lease alive until stop(). Reports loss three ways: the 'lost' event, the `lost`
 * promise (resolves with the LeaseLostError; never rejects), and the async iterator of keepalive
 * responses, which throws it.
 */
export class KeepAlive extends EventEmitter<KeepAliveEvents> implements AsyncIterable<KeepAliveResponse> {
  readonly lost: Promise<LeaseLostError>;
  /** Last answer from the server. */
  last: KeepAliveResponse | undefined;
  private resolveLost!: (e: LeaseLostError) => void;
  private lostError: LeaseLostError | undefined;
  private stopped = false;
  private queue: KeepAliveResponse[] = [];
  private wake: (() => void) | undefined;

  constructor(
    readonly id: bigint,
    private readonly manager: KeepAliveManager,
  ) {
    super();
    this.lost = new Promise((r) => (this.resolveLost = r));
  }

  get isActive(): boolean {
    return !this.stopped && this.lostError === undefined;
  }

  /** @internal */ onKeepAlive(r: KeepAliveResponse): void {
    if (!this.isActive) return;
    this.last = r;
    this.queue.push(r);
    if (this.queue.length > 16) this.queue.shift(); // a slow reader only needs recent answers
    this.emit('keepalive', r);
    this.wakeUp();
  }

  /** @internal */ onLost(err: LeaseLostError): void {
    if (!this.isActive) return;
    this.lostError = err;
    this.resolveLost(err);
    this.emit('lost', err);
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Stops refreshing this lease (the lease itself lives on until its TTL runs out). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.manager.remove(this);
    this.wakeUp();
    this.emit('stopped');
  }

  [Symbol.asyncIterator](): AsyncIterator<KeepAliveResponse> {
    return {
      next: async () => {
        for (;;) {
          const r = this.queue.shift();
          if (r !== undefined) return { done: false, value: r };
          if (this.lostError !== undefined) throw this.lostError;
          if (this.stopped) return { done: true, value: undefined };
          await new Promise<void>((res) => (this.wake = res));
        }
      },
      return: async () => {
        this.stop();
        return { done: true, value: undefined };
      },
    };
  }
}

interface LeaseState {
  handles: Set<KeepAlive>;
  /** Epoch ms of the next refresh to send. */
  nextAtMs: number;
  /** Epoch ms after which, without an answer, the lease is considered expired. */
  deadlineMs: number;
}

export class KeepAliveManager {
  private stream: grpc.ClientDuplexStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse> | undefined;
  private connecting = false;
  private closed = false;
  private readonly leases = new Map<bigint, LeaseState>();
  private timer: NodeJS.Timeout | undefined;
  private readonly retry = new StreamRetry();
  private readonly abort = new AbortController();

  constructor(private readonly transport: Transport) {}

  keepAlive(id: bigint): KeepAlive {
    if (this.closed) throw new ClientClosedError();
    const h = new KeepAlive(id, this);
    let st = this.leases.get(id);
    if (st === undefined) {
      const now = Date.now();
      st = { handles: new Set(), nextAtMs: now, deadlineMs: now + Math.max(firstKeepAliveTimeoutMs, this.transport.dialTimeoutMs) };
      this.leases.set(id, st);
    } else {
      st.nextAtMs = 0; // a new handle wants an answer promptly
    }
    st.handles.add(h);
    this.ensureRunning();
    this.sendDue();
    this.schedule();
    return h;
  }

  /** @internal */ remove(h: KeepAlive): void {
    const st = this.leases.get(h.id);
    if (st === undefined) return;
    st.handles.delete(h);
    if (st.handles.size === 0) this.leases.delete(h.id);
    this.stopIfIdle();
  }

  private ensureRunning(): void {
    if (this.stream === undefined) this.connect();
    this.schedule();
  }

  private stopIfIdle(): void {
    if (this.leases.size > 0) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.retry.cancel();
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) {
      s.removeAllListeners('data');
      s.cancel();
    }
  }

  private connect(): void {
    if (this.connecting || this.closed || this.stream !== undefined || this.leases.size === 0) return;
    this.connecting = true;
    this.transport.bidi(etcdserverpb.LeaseService.leaseKeepAlive, undefined, this.abort.signal).then(
      ({ stream }) => {
        this.connecting = false;
        if (this.closed || this.leases.size === 0) {
          stream.on('error', () => undefined);
          stream.cancel();
          return;
        }
        this.stream = stream;
        stream.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
          if (this.stream === stream) this.onResponse(r);
        });
        const broken = (err: unknown): void => {
          if (this.stream !== stream) return;
          this.stream = undefined;
          this.onStreamFailure(err === undefined ? undefined : toClientError(err));
        };
        stream.on('error', broken);
        stream.on('end', () => broken(undefined));
        // Refresh everything right away on a fresh stream.
        for (const st of this.leases.values()) st.nextAtMs = 0;
        this.sendDue();
        this.schedule();
      },
      (err: unknown) => {
        this.connecting = false;
        this.onStreamFailure(toClientError(err));
      },
    );
  }

  private onStreamFailure(err: EtcdClientError | undefined): void {
    if (this.closed || this.leases.size === 0) return;
    if (err instanceof InvalidAuthTokenError) this.transport.invalidateToken();
    this.retry.schedule(() => this.connect());
  }

  private onResponse(r: etcdserverpb.LeaseKeepAliveResponse): void {
    this.retry.reset();
    const st = this.leases.get(r.ID);
    if (st === undefined) return;
    if (r.TTL <= 0n) {
      this.lose(r.ID, st, 'lease expired or revoked');
      return;
    }
    const now = Date.now();
    const ttlMs = Number(r.TTL) * 1000;
    assert.ok(ttlMs > 0, 'a live lease has a positive TTL');
    st.nextAtMs = now + ttlMs / 3;
    st.deadlineMs = now + ttlMs;
    const resp: KeepAliveResponse = { header: header(r.header), id: r.ID, ttl: r.TTL };
    for (const h of [...st.handles]) h.onKeepAlive(resp);
    this.schedule();
  }

  private lose(id: bigint, st: LeaseState, reason: string): void {
    this.leases.delete(id);
    const err = new LeaseLostError(id, reason);
    for (const h of [...st.handles]) h.onLost(err);
    this.stopIfIdle();
  }

  /** One timer for all leases, set to the earliest refresh or expiry. */
  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.leases.size === 0) return;
    let due = Infinity;
    for (const st of this.leases.values()) {
      due = Math.min(due, st.deadlineMs + 1);
      // Refreshes can only go out on a stream; without one the reconnect will send them.
      if (this.stream !== undefined) due = Math.min(due, st.nextAtMs);
    }
    assert.ok(Number.isFinite(due), 'every kept-alive lease has a deadline');
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - Date.now()));
  }

  private tick(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [id, st] of [...this.leases]) {
      if (now > st.deadlineMs) this.lose(id, st, 'no keepalive response within the TTL');
    }
    this.sendDue();
    this.schedule();
  }

  private sendDue(): void {
    if (this.stream === undefined) return;
    const now = Date.now();
    for (const [id, st] of this.leases) {
      if (st.nextAtMs <= now) {
        // Resend only if no answer comes within keepAliveResendMs.
        st.nextAtMs = now + keepAliveResendMs;
        this.stream.write({ ID: id });
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new ClientClosedError());
    const handles = [...this.leases.values()].flatMap((st) => [...st.handles]);
    this.leases.clear();
    this.stopIfIdle();
    for (const h of handles) h.stop();
  }
}

export class Lease {
  constructor(
    private readonly raw: RawClient,
    private readonly manager: KeepAliveManager,
  ) {}

  /** Grants a lease of `ttl` seconds (optionally with a chosen id). */
  async grant(ttl: number | bigint, opts?: { id?: bigint } & CallOptions): Promise<LeaseGrantResult> {
    const r = await this.raw.lease.leaseGrant({ TTL: toInt64(ttl, 'ttl'), ID: opts?.id ?? 0n }, opts);
    return { header: header(r.header), id: r.ID, ttl: r.TTL };
  }

  async revoke(id: bigint, opts?: CallOptions): Promise<{ header: ResponseHeader }> {
    const r = await this.raw.lease.leaseRevoke({ ID: id }, opts);
    return { header: header(r.header) };
  }

  async timeToLive(id: bigint, opts?: { keys?: boolean } & CallOptions): Promise<LeaseTimeToLiveResult> {
    const r = await this.raw.lease.leaseTimeToLive({ ID: id, keys: opts?.keys === true }, opts);
    return { header: header(r.header), id: r.ID, ttl: r.TTL, grantedTtl: r.grantedTTL, keys: r.keys };
  }

  async leases(opts?: CallOptions): Promise<{ header: ResponseHeader; leases: bigint[] }> {
    const r = await this.raw.lease.leaseLeases({}, opts);
    return { header: header(r.header), leases: r.leases.map((l) => l.ID) };
  }

  /**
   * Keeps the lease alive until the handle is stopped (or the lease is lost). Loss is reported to
   * `onLost`, the handle's 'lost' event, its `lost` promise and its iterator.
   */
  keepAlive(id: bigint, opts?: { onLost?: (err: LeaseLostError) => void; onKeepAlive?: (r: KeepAliveResponse) => void }): KeepAlive {
    const ka = this.manager.keepAlive(id);
    if (opts?.onLost !== undefined) ka.on('lost', opts.onLost);
    if (opts?.onKeepAlive !== undefined) ka.on('keepalive', opts.onKeepAlive);
    return ka;
  }

  /** One refresh (its own short stream); throws LeaseLostError if the lease is gone. */
  async keepAliveOnce(id: bigint, opts?: CallOptions): Promise<KeepAliveResponse> {
    const ka = this.manager.keepAlive(id);
    try {
      const timeout = opts?.timeout;
      const timer = timeout === undefined ? undefined : setTimeout(() => ka.stop(), timeout);
      const it = ka[Symbol.asyncIterator]();
      const n = await it.next();
      if (timer !== undefined) clearTimeout(timer);
      if (n.done === true) throw new DeadlineExceededError('context deadline exceeded');
      return n.value;
    } finally {
      ka.stop();
    }
  }
}
