// Many short-lived deadlines (one per call) on one coarse timer instead of a Node timer
// each: add/remove are Set operations, and a single unref'd interval ticking every
// deadlineTickMs fires what is due. Deadlines fire up to one tick late, never early.
export const deadlineTickMs = 5;

/** Something the wheel fires once at `at` (ms since epoch); schedule() sets `at`. */
export interface WheelEntry {
  at: number;
  fire(): void;
}

class FnEntry implements WheelEntry {
  at = 0;
  constructor(readonly fire: () => void) {}
}

export class DeadlineWheel {
  private readonly entries = new Set<WheelEntry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tickMs = deadlineTickMs) {}

  /** Calls fire once at (or just after) Date.now() + ms unless cancelled first. */
  add(ms: number, fire: () => void): () => void {
    const e = new FnEntry(fire);
    this.schedule(e, ms);
    return () => this.cancel(e);
  }

  /** Fires e.fire() once at (or just after) Date.now() + ms unless cancel(e) comes first (no closure per entry). */
  schedule(e: WheelEntry, ms: number): void {
    e.at = Date.now() + ms;
    this.entries.add(e);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  cancel(e: WheelEntry): void {
    this.entries.delete(e);
  }

  private tick(): void {
    const now = Date.now();
    for (const e of this.entries) {
      if (e.at <= now) {
        this.entries.delete(e);
        e.fire();
      }
    }
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
