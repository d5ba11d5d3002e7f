// Fixed-window limiter (go-zero's core/limit.PeriodLimit): at most `quota` takes per
// `periodSec` per key. take() tells whether the call is allowed, hit the quota exactly,
// or is over it. With align, windows start on multiples of the period (wall clock).
import type { LimitStore } from './limit-store.js';

export enum PeriodResult {
  Unknown = 0,
  Allowed = 1,
  HitQuota = 2,
  OverQuota = 3,
}

export interface PeriodLimiterOptions {
  periodSec: number;
  quota: number;
  keyPrefix: string;
  store: LimitStore;
  align?: boolean;
  wallClockMs?: () => number;
}

export class PeriodLimiter {
  constructor(private readonly opts: PeriodLimiterOptions) {
    if (!(opts.periodSec > 0) || !(opts.quota > 0)) throw new RangeError('period limiter: period and quota must be > 0');
  }

  private windowMs(): number {
    const periodMs = this.opts.periodSec * 1000;
    if (!this.opts.align) return periodMs;
    const now = (this.opts.wallClockMs ?? Date.now)();
    return periodMs - (now % periodMs);
  }

  async take(key: string): Promise<PeriodResult> {
    const n = await this.opts.store.incr(this.opts.keyPrefix + key, this.windowMs());
    if (n < this.opts.quota) return PeriodResult.Allowed;
    if (n === this.opts.quota) return PeriodResult.HitQuota;
    return PeriodResult.OverQuota;
  }

  /** Allowed or hit quota (the last permitted call) both pass. */
  async allow(key: string): Promise<boolean> {
    const r = await this.take(key);
    return r === PeriodResult.Allowed || r === PeriodResult.HitQuota;
  }
}
