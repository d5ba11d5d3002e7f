// Where the shedder learns that the process is overloaded. go-zero reads container CPU
// usage (millicpu, 1000 = one full core). A Node process saturates a single core through
// its event loop long before the machine is busy, so the default probe also reports
// overload when event-loop utilisation or delay is high.
import { monitorEventLoopDelay, performance, type IntervalHistogram, type EventLoopUtilization } from 'node:perf_hooks';
import { cpuUsage } from 'node:process';

export interface LoadProbe {
  /** Recent CPU usage of this process in millicpu (0-1000 per core used). */
  cpuMillicpu(): number;
  /** True when the process should be treated as overloaded at this cpu threshold. */
  overloaded(cpuThresholdMillicpu: number): boolean;
  close(): void;
}

/** A probe driven by the test (or an external sensor): set the reading directly. */
export class ManualLoadProbe implements LoadProbe {
  constructor(public millicpu = 0) {}
  cpuMillicpu(): number {
    return this.millicpu;
  }
  overloaded(threshold: number): boolean {
    return this.millicpu >= threshold;
  }
  close(): void {}
}

export const loadSampleIntervalMs = 250;
/** Event-loop delay p99 at or above which the loop counts as saturated. */
export const eventLoopDelayOverloadMs = 100;

/** Samples process CPU, event-loop utilisation and delay every 250 ms (timer unref'd). */
export class ProcessLoadProbe implements LoadProbe {
  private millicpu = 0;
  private eluMillis = 0;
  private delayP99Ms = 0;
  private lastCpu = cpuUsage();
  private lastAt = performance.now();
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly delayOverloadMs = eventLoopDelayOverloadMs) {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), loadSampleIntervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = performance.now();
    const cpu = cpuUsage();
    const usedUs = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    const elapsedMs = now - this.lastAt;
    // go-zero smooths cpu with beta 0.95 over 250 ms samples; do the same
    const instant = elapsedMs > 0 ? (usedUs / 1000 / elapsedMs) * 1000 : 0;
    this.millicpu = Math.round(this.millicpu * 0.95 + instant * 0.05);
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.eluMillis = Math.round(elu.utilization * 1000);
    this.lastElu = performance.eventLoopUtilization();
    this.delayP99Ms = this.histogram.percentile(99) / 1e6;
    this.histogram.reset();
    this.lastCpu = cpu;
    this.lastAt = now;
  }

  cpuMillicpu(): number {
    // one process uses at most one core for JS: the loop's utilisation is its "cpu"
    return Math.max(this.millicpu, this.eluMillis);
  }

  overloaded(threshold: number): boolean {
    return this.cpuMillicpu() >= threshold || this.delayP99Ms >= this.delayOverloadMs;
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
