// Linearizable reads (etcd's linearizableReadLoop): readers that arrive together share one
// read-index request. A batch asks raft for the leader's commit index with a context unique in the
// cluster, and its readers go once this member has applied that index. Up to `maxInFlight`
// requests are in flight at once (etcd 3.4 keeps one): a reader that arrives while a round is
// under way starts the next round at once instead of waiting for the running one to come back,
// which on 3 members (a follower's round is two round trips) is most of a read's latency. Each
// batch's index is the leader's commit index taken after all of its readers arrived, so every
// batch is linearizable on its own, whatever order the answers come back in.

import { ErrProposalDropped, type ReadState } from '@tsetcd/raft';
import { Errors } from '../errors.js';

/** What the read loop needs of the raft node driver. */
export interface ReadIndexRaft {
  /** asks raft for a read index under `ctx` (throws ErrProposalDropped while there is no leader) */
  readIndex(ctx: Buffer): void;
  /** a fresh value from the member's ID generator (the context of one request) */
  nextId(): bigint;
  /** lets raft process what was just asked of it */
  wake(): void;
  appliedIndex(): number;
  hasLeader(): boolean;
  isStopped(): boolean;
}

export interface ReadIndexTimings {
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  requestTimeoutMs: number;
  /** read-index requests in flight at once (default 2) */
  maxInFlight?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface ReadBatch {
  ctx: Buffer;
  waiters: Waiter[];
  index?: number;
}

export class ReadIndexLoop {
  private waiting: Waiter[] = [];
  /** batches whose read index was asked for and not yet answered, by context (hex) */
  private readonly inFlight = new Map<string, ReadBatch>();
  private waitingApply: ReadBatch[] = [];
  private startScheduled = false;
  private readonly maxInFlight: number;

  constructor(
    private readonly raft: ReadIndexRaft,
    private readonly t: ReadIndexTimings,
  ) {
    this.maxInFlight = Math.max(1, t.maxInFlight ?? 2);
  }

  /** Resolves once this member's applied state reflects every write committed before the call. */
  notify(): Promise<void> {
    if (this.raft.isStopped()) return Promise.reject(Errors.stopped());
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.scheduleStart();
    });
  }

  /** Starts a round after this turn's readers have queued (they share it), if one may start. */
  private scheduleStart(): void {
    if (this.startScheduled || this.inFlight.size >= this.maxInFlight) return;
    this.startScheduled = true;
    setImmediate(() => {
      this.startScheduled = false;
      this.start();
    });
  }

  private start(): void {
    if (this.inFlight.size >= this.maxInFlight || this.waiting.length === 0 || this.raft.isStopped()) return;
    const batch: ReadBatch = { ctx: this.ctx(), waiters: this.waiting };
    this.waiting = [];
    try {
      this.raft.readIndex(batch.ctx);
    } catch (e) {
      // no leader yet: like etcd, the read waits for one (retried below, up to the request timeout)
      if (!(e instanceof ErrProposalDropped)) {
        for (const w of batch.waiters) w.reject(e as Error);
        return;
      }
    }
    this.inFlight.set(batch.ctx.toString('hex'), batch);
    this.armRetry(batch, performance.now());
    this.raft.wake();
  }

  /**
   * A read-index context unique in the cluster (the leader tracks pending reads by context, so
   * two members must never send the same one): the member's ID-generator value.
   */
  private ctx(): Buffer {
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(this.raft.nextId(), 0);
    return ctx;
  }

  /**
   * A read-index request can be lost (forwarded to a leader that is deposed, dropped by a
   * partition): ask again with a fresh context every election timeout, and give up with
   * etcd's timeout error after the request timeout.
   */
  private armRetry(batch: ReadBatch, startedAt: number): void {
    const t = setTimeout(() => {
      const key = batch.ctx.toString('hex');
      if (this.inFlight.get(key) !== batch || this.raft.isStopped()) return;
      this.inFlight.delete(key);
      if (performance.now() - startedAt > this.t.requestTimeoutMs) {
        for (const w of batch.waiters) w.reject(Errors.timeout());
        if (this.waiting.length > 0) this.scheduleStart();
        return;
      }
      batch.ctx = this.ctx();
      this.inFlight.set(batch.ctx.toString('hex'), batch);
      try {
        this.raft.readIndex(batch.ctx);
      } catch (e) {
        if (!(e instanceof ErrProposalDropped)) throw e;
      }
      this.armRetry(batch, startedAt);
      this.raft.wake();
    }, this.raft.hasLeader() ? this.t.electionTimeoutMs : this.t.heartbeatIntervalMs);
    t.unref();
  }

  /** A read state from raft's Ready: an in-flight batch's read index, if its context. */
  onReadState(rs: ReadState): void {
    const key = Buffer.from(rs.requestCtx.buffer, rs.requestCtx.byteOffset, rs.requestCtx.byteLength).toString('hex');
    const b = this.inFlight.get(key);
    if (b === undefined) return;
    this.inFlight.delete(key);
    b.index = rs.index;
    if (this.raft.appliedIndex() >= rs.index) for (const w of b.waiters) w.resolve();
    else this.waitingApply.push(b);
    if (this.waiting.length > 0) this.scheduleStart();
  }

  /** The member applied up to `applied`: readers waiting for it go. */
  onApplied(applied: number): void {
    if (this.waitingApply.length === 0) return;
    const still: ReadBatch[] = [];
    for (const b of this.waitingApply) {
      if (b.index !== undefined && applied >= b.index) for (const w of b.waiters) w.resolve();
      else still.push(b);
    }
    this.waitingApply = still;
  }

  /** Fails every reader (the server stops). */
  close(err: Error): void {
    for (const w of this.waiting) w.reject(err);
    for (const b of this.inFlight.values()) for (const w of b.waiters) w.reject(err);
    for (const b of this.waitingApply) for (const w of b.waiters) w.reject(err);
    this.waiting = [];
    this.inFlight.clear();
    this.waitingApply = [];
  }
}
