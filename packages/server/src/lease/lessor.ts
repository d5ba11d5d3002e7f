// The lessor: the lease table of one member. Leases are granted/revoked only by applying
// committed raft entries (so every member agrees); expiry and keep-alive renewals are decided by
// the leader alone ("primary"), which proposes a revoke when a lease runs out.
// Times are milliseconds on a monotonic clock (performance.now by default).

import { Errors } from '../errors.js';

/** etcd's MaxLeaseTTL: the largest TTL in seconds a lease may be granted with. */
export const maxLeaseTtlSeconds = 9_000_000_000;
/** NoLease: the zero ID means "no lease". */
export const noLease = 0n;
/** How often the primary looks for expired leases (etcd checks every 500ms). */
export const expiryCheckIntervalMs = 500;

export interface LeaseRecord {
  id: bigint;
  /** granted TTL in seconds (after the minimum TTL is applied) */
  ttlSeconds: number;
  /** remaining TTL persisted by a checkpoint (0: none) */
  remainingTtlSeconds: number;
}

/** Where the lessor persists leases: the applier writes them in the same backend batch. */
export interface LeasePersistence {
  saveLease(rec: LeaseRecord): void;
  deleteLease(id: bigint): void;
}

export class Lease {
  readonly id: bigint;
  readonly ttlSeconds: number;
  remainingTtlSeconds: number;
  /** monotonic ms at which the lease expires; Infinity while this member is not primary */
  expiryMs = Number.POSITIVE_INFINITY;
  /** monotonic ms at which the primary checkpoints the remaining TTL (Infinity: not scheduled) */
  checkpointAtMs = Number.POSITIVE_INFINITY;
  /** attached keys as latin1 strings (byte-exact) */
  readonly keys = new Set<string>();
  constructor(id: bigint, ttlSeconds: number, remainingTtlSeconds = 0) {
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    this.remainingTtlSeconds = remainingTtlSeconds;
  }
  keyBuffers(): Buffer[] {
    return [...this.keys].sort().map((k) => Buffer.from(k, 'latin1'));
  }
}

export interface LessorOptions {
  /** leases shorter than this are granted with this TTL (etcd: ceil(1.5 * election timeout)) */
  minTtlSeconds: number;
  now?: () => number;
  /**
   * etcd --experimental-enable-lease-checkpoint: the primary records a lease's remaining TTL
   * through raft every this many ms (etcd: 5 minutes), so a new leader does not restart it.
   */
  checkpointIntervalMs?: number;
  /** etcd --experimental-enable-lease-checkpoint-persist: checkpoints are also written to the backend */
  persistCheckpoints?: boolean;
}

/**
 * What the primary asks of raft (etcd's lessor hands expired leases and due checkpoints to the
 * server, which proposes them): revoke a lease, record remaining TTLs.
 */
export interface LeaseProposer {
  revoke(id: bigint): Promise<unknown>;
  checkpoint(checkpoints: Array<{ id: bigint; remainingTtlSeconds: number }>): Promise<unknown>;
}

/** etcd's maxLeaseCheckpointBatchSize */
export const maxCheckpointBatch = 1000;

export class Lessor {
  private readonly leases = new Map<bigint, Lease>();
  private readonly minTtlSeconds: number;
  private readonly now: () => number;
  private primary = false;
  private readonly checkpointIntervalMs: number | undefined;
  private readonly persistCheckpoints: boolean;
  persistence: LeasePersistence | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** expired leases whose revoke proposal is in flight */
  private readonly revoking = new Set<bigint>();

  constructor(opts: LessorOptions) {
    if (!(opts.minTtlSeconds >= 1)) throw new Error(`lessor: minTtlSeconds must be >= 1, got ${opts.minTtlSeconds}`);
    this.minTtlSeconds = opts.minTtlSeconds;
    this.now = opts.now ?? (() => performance.now());
    this.checkpointIntervalMs = opts.checkpointIntervalMs;
    this.persistCheckpoints = opts.persistCheckpoints ?? false;
  }

  /** Whether the primary checkpoints remaining TTLs (etcd --experimental-enable-lease-checkpoint). */
  get checkpointing(): boolean {
    return this.checkpointIntervalMs !== undefined;
  }

  /** etcd's scheduleCheckpointIfNeeded: only leases that outlive one checkpoint interval. */
  private scheduleCheckpoint(l: Lease): void {
    const iv = this.checkpointIntervalMs;
    l.checkpointAtMs = iv !== undefined && this.primary && l.expiryMs - this.now() > iv ? this.now() + iv : Number.POSITIVE_INFINITY;
  }

  /** Checkpoints due now (primary only): lease IDs with their remaining TTL in seconds. */
  dueCheckpoints(): Array<{ id: bigint; remainingTtlSeconds: number }> {
    if (!this.primary || this.checkpointIntervalMs === undefined) return [];
    const now = this.now();
    const out: Array<{ id: bigint; remainingTtlSeconds: number }> = [];
    for (const l of this.leases.values()) {
      if (l.checkpointAtMs > now || l.expiryMs <= now) continue;
      l.checkpointAtMs = Number.POSITIVE_INFINITY; // rescheduled when the checkpoint applies
      out.push({ id: l.id, remainingTtlSeconds: Math.ceil((l.expiryMs - now) / 1000) });
      if (out.length >= maxCheckpointBatch) break;
    }
    return out;
  }

  get minTtl(): number {
    return this.minTtlSeconds;
  }

  isPrimary(): boolean {
    return this.primary;
  }

  /** Applies a grant. Throws etcd's errors for a zero ID, an existing ID or a too large TTL. */
  grant(id: bigint, ttlSeconds: number): Lease {
    if (id === noLease) throw Errors.leaseNotFound();
    if (ttlSeconds > maxLeaseTtlSeconds) throw Errors.leaseTtlTooLarge();
    if (this.leases.has(id)) throw Errors.leaseExist();
    const ttl = Math.max(ttlSeconds, this.minTtlSeconds);
    const l = new Lease(id, ttl);
    if (this.primary) {
      this.refresh(l, 0);
      this.scheduleCheckpoint(l);
    }
    this.leases.set(id, l);
    this.persistence?.saveLease({ id, ttlSeconds: ttl, remainingTtlSeconds: 0 });
    return l;
  }

  /** Removes a lease; the caller deletes its keys (returned) in the same revision. */
  revoke(id: bigint): Buffer[] {
    const l = this.leases.get(id);
    if (!l) throw Errors.leaseNotFound();
    const keys = l.keyBuffers();
    this.leases.delete(id);
    this.persistence?.deleteLease(id);
    return keys;
  }

  /** Restores a lease from the backend at startup (no persistence write). */
  restore(rec: LeaseRecord): void {
    const l = new Lease(rec.id, rec.ttlSeconds, rec.remainingTtlSeconds);
    this.leases.set(rec.id, l);
  }

  checkpoint(id: bigint, remainingTtlSeconds: number): void {
    const l = this.leases.get(id);
    if (!l) return;
    l.remainingTtlSeconds = remainingTtlSeconds;
    // etcd 3.4 keeps checkpoints in memory unless asked to persist them
    if (this.persistCheckpoints || !this.checkpointing) this.persistence?.saveLease({ id, ttlSeconds: l.ttlSeconds, remainingTtlSeconds });
    if (this.primary) this.scheduleCheckpoint(l);
  }

  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  attach(id: bigint, key: Buffer): void {
    const l = this.leases.get(id);
    if (!l) throw Errors.leaseNotFound();
    l.keys.add(key.toString('latin1'));
  }

  detach(id: bigint, key: Buffer): void {
    this.leases.get(id)?.keys.delete(key.toString('latin1'));
  }

  /** Keep-alive on the primary: restarts the TTL and returns it (seconds). */
  renew(id: bigint): number {
    if (!this.primary) throw Errors.notLeader();
    const l = this.leases.get(id);
    if (!l) throw Errors.leaseNotFound();
    if (l.expiryMs <= this.now()) throw Errors.leaseNotFound();
    // a renewal forgets any checkpointed remaining TTL, as etcd does
    l.remainingTtlSeconds = 0;
    this.refresh(l, 0);
    this.scheduleCheckpoint(l);
    return l.ttlSeconds;
  }

  /** Milliseconds left before expiry (Infinity when not primary). */
  remainingMs(l: Lease): number {
    return l.expiryMs - this.now();
  }

  /** This member became leader: every lease gets its (remaining) TTL plus `extendMs`. */
  promote(extendMs: number): void {
    this.primary = true;
    for (const l of this.leases.values()) {
      this.refresh(l, extendMs);
      this.scheduleCheckpoint(l);
    }
  }

  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) {
      l.expiryMs = Number.POSITIVE_INFINITY;
      l.checkpointAtMs = Number.POSITIVE_INFINITY;
    }
  }

  /** Leases whose time ran out (primary only); the server proposes their revocation. */
  expired(limit = 1000): bigint[] {
    if (!this.primary) return [];
    const now = this.now();
    const out: bigint[] = [];
    for (const l of this.leases.values()) {
      if (l.expiryMs <= now) {
        out.push(l.id);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /**
   * etcd's lessor runLoop: every expiryCheckIntervalMs the primary proposes the revocation of
   * expired leases (once each while the proposal is in flight) and the checkpoints that are due.
   */
  startExpiry(p: LeaseProposer): void {
    if (this.expiryTimer !== undefined) return;
    this.expiryTimer = setInterval(() => this.proposeExpired(p), expiryCheckIntervalMs);
  }

  stopExpiry(): void {
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private proposeExpired(p: LeaseProposer): void {
    if (!this.primary) return;
    for (const id of this.expired()) {
      if (this.revoking.has(id)) continue;
      this.revoking.add(id);
      p.revoke(id)
        .catch(() => undefined)
        .finally(() => this.revoking.delete(id));
    }
    // etcd's checkpointScheduledLeases (--experimental-enable-lease-checkpoint)
    const due = this.dueCheckpoints();
    if (due.length > 0) p.checkpoint(due).catch(() => undefined);
  }

  list(): Lease[] {
    return [...this.leases.values()];
  }

  get size(): number {
    return this.leases.size;
  }

  private refresh(l: Lease, extendMs: number): void {
    const ttl = l.remainingTtlSeconds > 0 ? l.remainingTtlSeconds : l.ttlSeconds;
    l.expiryMs = this.now() + extendMs + ttl * 1000;
  }
}

/** Encodes a lease record for the backend (etcd's leasepb.Lease fields: ID, TTL, RemainingTTL). */
export function encodeLeaseRecord(rec: LeaseRecord): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigInt64BE(rec.id, 0);
  b.writeBigInt64BE(BigInt(rec.ttlSeconds), 8);
  b.writeBigInt64BE(BigInt(rec.remainingTtlSeconds), 16);
  return b;
}

export function decodeLeaseRecord(b: Buffer): LeaseRecord {
  if (b.length !== 24) throw new Error(`lessor: bad lease record of ${b.length} bytes`);
  return { id: b.readBigInt64BE(0), ttlSeconds: Number(b.readBigInt64BE(8)), remainingTtlSeconds: Number(b.readBigInt64BE(16)) };
}

/** Lease key in the backend's lease bucket: the ID as 8 big-endian bytes (etcd's int64ToBytes). */
export function leaseBucketKey(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(id, 0);
  return b;
}
