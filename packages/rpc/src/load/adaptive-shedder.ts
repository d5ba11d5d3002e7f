// Adaptive load shedding after go-zero's core/load/adaptiveshedder.go. A request is
// dropped only when the system is overloaded (cpu ≥ threshold, or it was within the last
// cool-off second after a drop) AND the requests in flight exceed what the service has
// shown it can handle: maxFlight = maxPass · minRt · bucketsPerSecond / 1000, scaled by
// the overload factor (never below 10%).
import { RollingWindow, SumBucket } from '../internal/rolling-window.js';
import { monotonicMs, type Clock } from '../internal/clock.js';
import { OverloadedError } from '../errors.js';
import type { LoadProbe } from './load-probe.js';

export const shedderWindowMs = 5_000;
export const shedderBuckets = 50;
export const shedderCoolOffMs = 1_000;
export const defaultCpuThresholdMillicpu = 900;
export const cpuMaxMillicpu = 1000;
/** With no history, assume 1 s response time: large enough not to drop. */
export const defaultMinRtMs = 1000;
export const flyingBeta = 0.9;
export const overloadFactorLowerBound = 0.1;

export interface ShedderOptions {
  cpuThresholdMillicpu?: number;
  windowMs?: number;
  buckets?: number;
  probe: LoadProbe;
  clock?: Clock;
}

export interface ShedderPromise {
  pass(): void;
  fail(): void;
}

/** An admitted request: pass() or fail() once (later calls are ignored). */
class Ticket implements ShedderPromise {
  private settled = false;
  constructor(
    private readonly shedder: AdaptiveShedder,
    private readonly startMs: number,
  ) {}
  pass(): void {
    if (this.settled) return;
    this.settled = true;
    this.shedder.finished(this.startMs, true);
  }
  fail(): void {
    if (this.settled) return;
    this.settled = true;
    this.shedder.finished(this.startMs, false);
  }
}

export class AdaptiveShedder {
  private readonly cpuThreshold: number;
  private readonly windowScale: number;
  private readonly passCounter: RollingWindow<SumBucket>;
  private readonly rtCounter: RollingWindow<SumBucket>;
  private readonly clock: Clock;
  private readonly probe: LoadProbe;
  private flying = 0;
  private avgFlying = 0;
  private overloadTimeMs = 0;
  private droppedRecently = false;
  dropped = 0;
  passed = 0;

  constructor(opts: ShedderOptions) {
    this.cpuThreshold = opts.cpuThresholdMillicpu ?? defaultCpuThresholdMillicpu;
    if (!(this.cpuThreshold > 0 && this.cpuThreshold < cpuMaxMillicpu)) throw new RangeError('shedder: cpu threshold must be in (0, 1000)');
    const buckets = opts.buckets ?? shedderBuckets;
    const bucketMs = (opts.windowMs ?? shedderWindowMs) / buckets;
    this.clock = opts.clock ?? monotonicMs;
    this.probe = opts.probe;
    this.windowScale = 1000 / bucketMs / 1000; // buckets per second / ms per second
    this.passCounter = new RollingWindow(() => new SumBucket(), buckets, bucketMs, this.clock, true);
    this.rtCounter = new RollingWindow(() => new SumBucket(), buckets, bucketMs, this.clock, true);
  }

  /** Admits a request (returning its promise) or throws OverloadedError. */
  allow(): ShedderPromise {
    if (this.shouldDrop()) {
      this.droppedRecently = true;
      this.dropped++;
      throw new OverloadedError();
    }
    this.flying++;
    return new Ticket(this, this.clock());
  }

  /** @internal a request admitted at startMs finished (passed: it completed in time) */
  finished(startMs: number, passed: boolean): void {
    this.addFlying(-1);
    if (!passed) return;
    const rt = this.clock() - startMs;
    this.rtCounter.current().add(Math.ceil(rt));
    this.passCounter.current().add(1);
    this.passed++;
  }

  private addFlying(delta: number): void {
    this.flying += delta;
    if (delta < 0) this.avgFlying = this.avgFlying * flyingBeta + this.flying * (1 - flyingBeta);
  }

  maxPass(): number {
    let result = 1;
    this.passCounter.reduce((b) => {
      if (b.sum > result) result = b.sum;
    });
    return result;
  }

  minRt(): number {
    let result = defaultMinRtMs;
    this.rtCounter.reduce((b) => {
      if (b.count <= 0) return;
      const avg = Math.round(b.sum / b.count);
      if (avg < result) result = avg;
    });
    return result;
  }

  maxFlight(): number {
    return Math.max(this.maxPass() * this.minRt() * this.windowScale, 1);
  }

  private overloadFactor(): number {
    const factor = (cpuMaxMillicpu - this.probe.cpuMillicpu()) / (cpuMaxMillicpu - this.cpuThreshold);
    return Math.min(Math.max(factor, overloadFactorLowerBound), 1);
  }

  private highThru(): boolean {
    const maxFlight = this.maxFlight() * this.overloadFactor();
    return this.avgFlying > maxFlight && this.flying > maxFlight;
  }

  private systemOverloaded(): boolean {
    if (!this.probe.overloaded(this.cpuThreshold)) return false;
    this.overloadTimeMs = this.clock();
    return true;
  }

  private stillHot(): boolean {
    if (!this.droppedRecently || this.overloadTimeMs === 0) return false;
    if (this.clock() - this.overloadTimeMs < shedderCoolOffMs) return true;
    this.droppedRecently = false;
    return false;
  }

  shouldDrop(): boolean {
    return (this.systemOverloaded() || this.stillHot()) && this.highThru();
  }

  get inFlight(): number {
    return this.flying;
  }
}
