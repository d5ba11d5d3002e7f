// Google SRE client-side throttling ("Handling Overload", eq. 21-1) with go-zero's
// current refinements (core/breaker/googlebreaker.go): a 10 s window of 40 buckets;
// k starts at 1.5 and falls toward 1.1 as consecutive failing buckets accumulate;
// 5 requests of protection; one request forced through per second while rejecting;
// the drop ratio softened by the share of recent "working" buckets.
import { RollingWindow, type Bucket } from '../internal/rolling-window.js';
import { monotonicMs, type Clock } from '../internal/clock.js';
import { BreakerOpenError } from '../errors.js';

export const breakerWindowMs = 10_000;
export const breakerBuckets = 40;
export const breakerForcePassMs = 1_000;
export const breakerK = 1.5;
export const breakerMinK = 1.1;
export const breakerProtection = 5;

/** Running sums over the window's buckets, kept so that allow() need not visit them all. */
interface Totals {
  total: number;
  accepts: number;
}

class BreakerBucket implements Bucket {
  sum = 0;
  success = 0;
  failure = 0;
  drop = 0;
  constructor(private readonly totals: Totals) {}
  reset(): void {
    this.totals.total -= this.sum;
    this.totals.accepts -= this.success;
    this.sum = this.success = this.failure = this.drop = 0;
  }
}

export interface BreakerHistory {
  accepts: number;
  total: number;
  failingBuckets: number;
  workingBuckets: number;
}

export interface BreakerOptions {
  clock?: Clock;
  random?: () => number;
}

export class GoogleBreaker {
  private readonly stat: RollingWindow<BreakerBucket>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private lastPassMs = 0;
  private readonly totals: Totals = { total: 0, accepts: 0 };

  constructor(readonly name = '', opts: BreakerOptions = {}) {
    this.clock = opts.clock ?? monotonicMs;
    this.random = opts.random ?? Math.random;
    this.stat = new RollingWindow(() => new BreakerBucket(this.totals), breakerBuckets, breakerWindowMs / breakerBuckets, this.clock);
  }

  history(): BreakerHistory {
    const h: BreakerHistory = { accepts: 0, total: 0, failingBuckets: 0, workingBuckets: 0 };
    this.stat.reduce((b) => {
      h.accepts += b.success;
      h.total += b.sum;
      if (b.failure > 0) h.workingBuckets = 0;
      else if (b.success > 0) h.workingBuckets++;
      if (b.success > 0) h.failingBuckets = 0;
      else if (b.failure > 0) h.failingBuckets++;
    });
    return h;
  }

  /** The probability a request would be dropped now (before the forced pass). */
  dropRatio(): number {
    const h = this.history();
    const w = Math.max(breakerK - ((breakerK - breakerMinK) * h.failingBuckets) / breakerBuckets, breakerMinK);
    const ratio = (h.total - breakerProtection - w * h.accepts) / (h.total + 1);
    return ratio <= 0 ? 0 : ratio * ((breakerBuckets - h.workingBuckets) / breakerBuckets);
  }

  /** True if the request may go; a refusal is recorded as a drop. */
  allow(): boolean {
    // Fast path: with the smallest k the ratio below is at its largest; if even that is not
    // positive, no request can be dropped and the per-bucket history is not needed.
    this.stat.current(); // expire buckets that left the window (their sums leave the totals)
    const t = this.totals;
    if (t.total - breakerProtection - breakerMinK * t.accepts <= 0) return true;
    const h = this.history();
    const w = Math.max(breakerK - ((breakerK - breakerMinK) * h.failingBuckets) / breakerBuckets, breakerMinK);
    let ratio = (h.total - breakerProtection - w * h.accepts) / (h.total + 1);
    if (ratio <= 0) return true;
    const now = this.clock();
    if (this.lastPassMs > 0 && now - this.lastPassMs > breakerForcePassMs) {
      this.lastPassMs = now;
      return true;
    }
    ratio *= (breakerBuckets - h.workingBuckets) / breakerBuckets;
    if (this.random() < ratio) {
      const b = this.stat.current();
      b.sum++;
      b.drop++;
      this.totals.total++;
      return false;
    }
    this.lastPassMs = now;
    return true;
  }

  markSuccess(): void {
    const b = this.stat.current();
    b.sum++;
    b.success++;
    this.totals.total++;
    this.totals.accepts++;
  }

  markFailure(): void {
    const b = this.stat.current();
    b.sum++;
    b.failure++;
    this.totals.total++;
  }

  /** Runs fn under the breaker; acceptable(err) decides whether an error counts against it. */
  async run<T>(fn: () => Promise<T>, acceptable: (err: unknown) => boolean): Promise<T> {
    if (!this.allow()) throw new BreakerOpenError();
    let ok = false;
    try {
      const res = await fn();
      ok = true;
      return res;
    } catch (err) {
      ok = acceptable(err);
      throw err;
    } finally {
      if (ok) this.markSuccess();
      else this.markFailure();
    }
  }
}

/** One breaker per name (method, or method@server), created on first use. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, GoogleBreaker>();
  constructor(private readonly opts: BreakerOptions = {}) {}
  get(name: string): GoogleBreaker {
    let b = this.breakers.get(name);
    if (!b) this.breakers.set(name, (b = new GoogleBreaker(name, this.opts)));
    return b;
  }
}
