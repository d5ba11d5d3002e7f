// loop/ticker.ts: the raft clock's ticker keeps a fixed schedule while its callbacks (and the
// rest of the loop) take time, never fires early, and drops the ticks a late firing missed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ticker } from '../src/loop/ticker.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('ticker: a busy callback does not stretch the schedule (setInterval would: interval + busy per tick)', async () => {
  const intervalMs = 50;
  const busyMs = 20;
  const ticks = 20;
  const start = performance.now();
  const at: number[] = [];
  await new Promise<void>((resolve) => {
    const t = new Ticker(intervalMs, () => {
      at.push(performance.now() - start);
      if (at.length === ticks) {
        t.stop();
        resolve();
        return;
      }
      busy(busyMs);
    });
  });
  // never early: the k-th firing is at or after k intervals
  at.forEach((ms, i) => assert.ok(ms >= (i + 1) * intervalMs - 1, `tick ${i + 1} at ${ms.toFixed(1)} ms`));
  // on schedule: setInterval would need at least ticks × (interval + busy) = 1400 ms
  assert.ok(at[ticks - 1] < ticks * (intervalMs + busyMs) - 100, `${ticks} ticks took ${at[ticks - 1].toFixed(0)} ms`);
});

test('ticker: a firing held up for several intervals fires once, then the schedule goes on (missed ticks dropped)', async () => {
  const intervalMs = 20;
  const start = performance.now();
  const at: number[] = [];
  await new Promise<void>((resolve) => {
    const t = new Ticker(intervalMs, () => {
      at.push(performance.now() - start);
      if (at.length === 1) busy(5 * intervalMs + 5);
      if (at.length === 3) {
        t.stop();
        resolve();
      }
    });
  });
  // after the stall (ends past 6 intervals) one firing at once, the next on a slot of the schedule
  assert.ok(at[1] >= 6 * intervalMs, `second tick at ${at[1].toFixed(1)} ms`);
  assert.ok(at[2] - at[1] <= intervalMs + 15, `third tick ${(at[2] - at[1]).toFixed(1)} ms after the second`);
  assert.ok(at[2] >= 7 * intervalMs - 1);
});
