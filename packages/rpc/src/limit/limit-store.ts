// Where limiter state lives. go-zero keeps it in redis (Lua scripts) so all instances
// share one budget; this interface allows an etcd- or redis-backed store later, and
// MemoryLimitStore keeps it in-process.
import { monotonicMs, type Clock } from '../internal/clock.js';

export interface LimitStore {
  /** Adds 1 to the counter at key, starting a ttlMs expiry when it is new; returns the count. */
  incr(key: string, ttlMs: number): Promise<number>;
  /**
   * Token bucket refill-and-take: rate tokens/s, capacity burst, take n at nowMs.
   * Returns whether the tokens were granted.
   */
  takeTokens(key: string, ratePerSec: number, burst: number, nowMs: number, n: number): Promise<boolean>;
}

interface Counter {
  count: number;
  expiresAtMs: number;
}
interface TokenState {
  tokens: number;
  refreshedAtMs: number;
  expiresAtMs: number;
}

export class MemoryLimitStore implements LimitStore {
  private readonly counters = new Map<string, Counter>();
  private readonly buckets = new Map<string, TokenState>();
  private sweeps = 0;

  constructor(private readonly clock: Clock = monotonicMs) {}

  private sweep(now: number): void {
    if (++this.sweeps % 1024 !== 0) return;
    for (const [k, v] of this.counters) if (v.expiresAtMs <= now) this.counters.delete(k);
    for (const [k, v] of this.buckets) if (v.expiresAtMs <= now) this.buckets.delete(k);
  }

  incrSync(key: string, ttlMs: number): number {
    const now = this.clock();
    this.sweep(now);
    let c = this.counters.get(key);
    if (!c || c.expiresAtMs <= now) {
      c = { count: 0, expiresAtMs: now + ttlMs };
      this.counters.set(key, c);
    }
    return ++c.count;
  }

  async incr(key: string, ttlMs: number): Promise<number> {
    return this.incrSync(key, ttlMs);
  }

  takeTokensSync(key: string, ratePerSec: number, burst: number, nowMs: number, n: number): boolean {
    this.sweep(nowMs);
    // state expires after twice the time to fill the bucket (go-zero's ttl)
    const fillMs = (burst / ratePerSec) * 1000;
    let s = this.buckets.get(key);
    if (!s || s.expiresAtMs <= nowMs) s = { tokens: burst, refreshedAtMs: nowMs, expiresAtMs: 0 };
    const delta = Math.max(0, nowMs - s.refreshedAtMs);
    const filled = Math.min(burst, s.tokens + (delta / 1000) * ratePerSec);
    const allowed = filled >= n;
    s.tokens = allowed ? filled - n : filled;
    s.refreshedAtMs = nowMs;
    s.expiresAtMs = nowMs + Math.max(2 * fillMs, 1000);
    this.buckets.set(key, s);
    return allowed;
  }

  async takeTokens(key: string, ratePerSec: number, burst: number, nowMs: number, n: number): Promise<boolean> {
    return this.takeTokensSync(key, ratePerSec, burst, nowMs, n);
  }
}
