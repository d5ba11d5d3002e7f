// Many short-lived deadlines (one per call) on one coarse timer instead of a Node timer
// each. A hashed timing wheel: slots of deadlineTickMs, an entry sits in the slot of the tick
// its deadline falls in; schedule and cancel are an array push and a swap-remove (no hashing,
// no allocation beyond the array's growth), and each tick of a single unref'd interval looks
// only at the slots that came due (deadlines beyond one turn of the wheel wait in their slot
// for the turn they fall in). Deadlines fire up to one tick late, never early.
export const deadlineTickMs = 5;
const slotCount = 1024; // one turn: 5.12 s at 5 ms

/**
 * Something the wheel fires once at `at` (ms since epoch). The wheel keeps its bookkeeping on
 * the entry itself (`at`, and where it sits: `slot`, -1 when not scheduled, and `index`), so
 * scheduling allocates nothing and looks nothing up; start entries with slot -1.
 */
export interface WheelEntry {
  at: number;
  slot: number;
  index: number;
  fire(): void;
}

class FnEntry implements WheelEntry {
  at = 0;
  slot = -1;
  index = 0;
  constructor(readonly fire: () => void) {}
}

export class DeadlineWheel {
  private readonly slots: WheelEntry[][] = Array.from({ length: slotCount }, () => []);
  /** the next tick number to look at */
  private cursor = 0;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tickMs = deadlineTickMs) {}

  /** Calls fire once at (or just after) Date.now() + ms unless cancelled first. */
  add(ms: number, fire: () => void): () => void {
    const e = new FnEntry(fire);
    this.schedule(e, ms);
    return () => this.cancel(e);
  }

  /** Fires e.fire() once at (or just after) Date.now() + ms unless cancel(e) comes first (a scheduled entry moves). */
  schedule(e: WheelEntry, ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`deadline wheel: ${ms} ms is not a time`);
    if (e.slot >= 0) this.unlink(e);
    const now = Date.now();
    if (!this.timer) {
      this.cursor = Math.floor(now / this.tickMs);
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
    const at = (e.at = now + ms);
    let tick = Math.ceil(at / this.tickMs);
    if (tick < this.cursor) tick = this.cursor;
    const list = this.slots[tick % slotCount];
    e.slot = tick % slotCount;
    e.index = list.length;
    list.push(e);
    this.count++;
  }

  cancel(e: WheelEntry): void {
    if (e.slot >= 0) this.unlink(e);
  }

  private unlink(e: WheelEntry): void {
    const list = this.slots[e.slot];
    const last = list.pop()!;
    if (last !== e) {
      list[e.index] = last;
      last.index = e.index;
    }
    e.slot = -1;
    this.count--;
  }

  private tick(): void {
    const now = Date.now();
    const until = Math.floor(now / this.tickMs);
    // after a stall longer than a turn, one pass over every slot covers all of it
    let from = this.cursor;
    if (until - from >= slotCount) from = until - slotCount + 1;
    for (let t = from; t <= until; t++) {
      const list = this.slots[t % slotCount];
      for (let i = 0; i < list.length; ) {
        const e = list[i];
        if (e.at <= now) {
          this.unlink(e); // moves the last one into i
          e.fire();
        } else i++;
      }
    }
    this.cursor = until + 1;
    if (this.count === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.count;
  }
}
