// A ring of fixed-duration buckets covering a sliding time window (the structure behind
// go-zero's collection.RollingWindow). Buckets older than the window are reset lazily as
// time moves on; reduce() visits the live buckets oldest first.
import type { Clock } from './clock.js';

export interface Bucket {
  reset(): void;
}

export class RollingWindow<B extends Bucket> {
  private readonly buckets: B[];
  private offset = 0;
  private lastTimeMs: number;

  constructor(
    newBucket: () => B,
    readonly bucketCount: number,
    readonly bucketDurationMs: number,
    private readonly clock: Clock,
    /** Leave the bucket being filled out of reduce() (go-zero's IgnoreCurrentBucket). */
    private readonly ignoreCurrent = false,
  ) {
    if (!(bucketCount > 0) || !(bucketDurationMs > 0)) throw new RangeError('rolling window: bad size');
    this.buckets = Array.from({ length: bucketCount }, newBucket);
    this.lastTimeMs = clock();
  }

  /** Whole buckets elapsed since the last update, capped at the window size. */
  private span(): number {
    const elapsed = Math.floor((this.clock() - this.lastTimeMs) / this.bucketDurationMs);
    return elapsed >= 0 && elapsed < this.bucketCount ? elapsed : this.bucketCount;
  }

  private advance(): void {
    const span = this.span();
    if (span <= 0) return;
    for (let i = 0; i < span; i++) this.buckets[(this.offset + i + 1) % this.bucketCount].reset();
    this.offset = (this.offset + span) % this.bucketCount;
    // align to the bucket boundary so partial buckets are not lost
    const now = this.clock();
    this.lastTimeMs = now - ((now - this.lastTimeMs) % this.bucketDurationMs);
  }

  /** The bucket for now (after expiring stale ones). */
  current(): B {
    this.advance();
    return this.buckets[this.offset];
  }

  reduce(fn: (b: B) => void): void {
    const span = this.span();
    let count = this.bucketCount - span;
    if (span === 0 && this.ignoreCurrent) count = this.bucketCount - 1;
    const start = (this.offset + span + 1) % this.bucketCount;
    for (let i = 0; i < count; i++) fn(this.buckets[(start + i) % this.bucketCount]);
  }
}

/** Sum and count of added values (go-zero's collection.Bucket). */
export class SumBucket implements Bucket {
  sum = 0;
  count = 0;
  add(v: number): void {
    this.sum += v;
    this.count++;
  }
  reset(): void {
    this.sum = 0;
    this.count = 0;
  }
}
