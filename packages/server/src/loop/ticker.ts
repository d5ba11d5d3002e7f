// A drift-free ticker, as Go's time.Ticker: it fires on a fixed schedule, start + k·interval.
// Node's setInterval schedules each firing one interval after the previous one ran, so a busy
// event loop stretches every interval and a clock counted in its ticks runs slow (raft's election
// timeout of 10 ticks took 11-12 intervals on a loaded machine). A firing that comes late still
// fires once; the ticks it missed are dropped, as Go's ticker drops them for a slow receiver.

export class Ticker {
  private readonly startMs = performance.now();
  private k = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => void,
  ) {
    this.schedule();
  }

  private schedule(): void {
    const now = performance.now();
    // the next slot after now (late firings skip the slots they missed)
    this.k = Math.max(this.k + 1, Math.floor((now - this.startMs) / this.intervalMs) + 1);
    this.timer = setTimeout(() => {
      this.schedule();
      this.fn();
    }, this.startMs + this.k * this.intervalMs - now);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
