// loop/ticker.ts: the raft clock's ticker keeps a fixed schedule while its callbacks (and the
// rest of the loop) take time, never fires early, and drops the ticks a late firing missed.
// Driven by a fake clock: the schedule is the behaviour, so the test owns the time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ticker, type TickerClock } from '../src/loop/ticker.js';

/** A clock whose time moves only when the test says: timers fire in due order as it advances. */
class FakeClock implements TickerClock {
  t = 1000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== id);
  }
  /** Moves time to `until`, firing each due timer at its time (a callback may move time on: busy work). */
  advanceTo(until: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      if (next.at > this.t) this.t = next.at;
      next.fn();
    }
    if (until > this.t) this.t = until;
  }
}

test('ticker: a busy callback does not stretch the schedule (setInterval would: interval + busy per tick)', () => {
  const clock = new FakeClock();
  const start = clock.t;
  const intervalMs = 50;
  const busyMs = 20;
  const at: number[] = [];
  const t = new Ticker(intervalMs, () => {
    at.push(clock.t - start);
    clock.t += busyMs; // the callback holds the loop
  }, clock);
  clock.advanceTo(start + 20 * intervalMs);
  t.stop();
  // on the schedule start + k·interval, never early, never stretched by the busy time
  assert.deepEqual(at, Array.from({ length: 20 }, (_, i) => (i + 1) * intervalMs));
});

test('ticker: a firing held up for several intervals fires once, then the schedule goes on (missed ticks dropped)', () => {
  const clock = new FakeClock();
  const start = clock.t;
  const intervalMs = 20;
  const at: number[] = [];
  const t = new Ticker(intervalMs, () => {
    at.push(clock.t - start);
    if (at.length === 1) clock.t += 5 * intervalMs + 5; // a stall past 6 intervals
  }, clock);
  clock.advanceTo(start + 10 * intervalMs);
  t.stop();
  // first on slot 1; the stall ends at 125 ms: the overdue firing comes once, at once (slots 2..6
  // are dropped), then the schedule goes on from slot 7 (140 ms)
  assert.deepEqual(at.slice(0, 4), [20, 125, 140, 160]);
});

test('ticker: a firing whose timer runs late (loop busy elsewhere) fires once at once and keeps the slots after it', () => {
  const clock = new FakeClock();
  const start = clock.t;
  const at: number[] = [];
  const t = new Ticker(10, () => at.push(clock.t - start), clock);
  clock.advanceTo(start + 10);
  // the loop is held for 35 ms by something else before the next timer can run
  clock.t += 35;
  clock.advanceTo(start + 70);
  t.stop();
  assert.deepEqual(at, [10, 45, 50, 60, 70]);
});

test('ticker: stop() ends the firings', () => {
  const clock = new FakeClock();
  let n = 0;
  const t = new Ticker(10, () => n++, clock);
  clock.advanceTo(clock.t + 35);
  t.stop();
  clock.advanceTo(clock.t + 100);
  assert.equal(n, 3);
});

test('ticker: on the real clock it fires and stops', async () => {
  await new Promise<void>((resolve) => {
    let n = 0;
    const t = new Ticker(5, () => {
      if (++n === 3) {
        t.stop();
        resolve();
      }
    });
  });
});
