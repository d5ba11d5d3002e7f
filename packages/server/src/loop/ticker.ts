// A drift-free ticker, as Go's time.Ticker: it fires on a fixed schedule, start + k·interval.
// Node's setInterval schedules each firing one interval after the previous one ran, so a busy
// event loop stretches every interval and a clock counted in its ticks runs slow (raft's election
// timeout of 10 ticks took 11-12 intervals on a loaded machine). A firing that comes late still
// fires once; the ticks it missed are dropped, as Go's ticker drops them for a slow receiver.

/** What the ticker reads the time from and arms its timer with (tests pass a fake one). */
export interface TickerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const realClock: TickerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

export class Ticker {
  private readonly startMs: number;
  private k = 0;
  private timer: unknown;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => void,
    private readonly clock: TickerClock = realClock,
  ) {
    this.startMs = clock.now();
    this.schedule();
  }

  private schedule(): void {
    const now = this.clock.now();
    // the next slot after now (late firings skip the slots they missed)
    this.k = Math.max(this.k + 1, Math.floor((now - this.startMs) / this.intervalMs) + 1);
    this.timer = this.clock.setTimeout(() => {
      this.schedule();
      this.fn();
    }, this.startMs + this.k * this.intervalMs - now);
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
