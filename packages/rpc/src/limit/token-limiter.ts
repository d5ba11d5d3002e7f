// Token bucket limiter (go-zero's core/limit.TokenLimiter): `ratePerSec` tokens refill
// per second up to `burst`; each call takes n tokens or is refused.
import type { LimitStore } from './limit-store.js';
import { monotonicMs, type Clock } from '../internal/clock.js';

export interface TokenLimiterOptions {
  ratePerSec: number;
  burst: number;
  key: string;
  store: LimitStore;
  clock?: Clock;
}

export class TokenLimiter {
  private readonly clock: Clock;
  constructor(private readonly opts: TokenLimiterOptions) {
    if (!(opts.ratePerSec > 0) || !(opts.burst >= 1)) throw new RangeError('token limiter: rate must be > 0 and burst ≥ 1');
    this.clock = opts.clock ?? monotonicMs;
  }

  allow(): Promise<boolean> {
    return this.allowN(1);
  }

  allowN(n: number, nowMs = this.clock()): Promise<boolean> {
    return this.opts.store.takeTokens(this.opts.key, this.opts.ratePerSec, this.opts.burst, nowMs, n);
  }
}
