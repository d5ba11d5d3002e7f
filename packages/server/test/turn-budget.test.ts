// Long jobs in slices of the event loop: sortInSlices sorts like a stable Array.prototype.sort and
// lets other tasks run while it works.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '@tsetcd/common';
import { sortInSlices } from '../src/loop/sort-in-slices.js';
import { TurnBudget } from '../src/loop/turn-budget.js';

test('sortInSlices: same order as a stable sort, at and around run boundaries', async () => {
  const rand = mulberry32(14);
  for (const n of [0, 1, 2, 8191, 8192, 8193, 16_385, 40_000]) {
    const items = Array.from({ length: n }, (_, i) => ({ key: Math.floor(rand() * (n / 4 + 1)), i }));
    const cmp = (a: { key: number }, b: { key: number }): number => a.key - b.key;
    const want = items.slice().sort(cmp);
    const got = await sortInSlices(items, cmp);
    assert.deepEqual(got, want, `n=${n}`);
    assert.equal(items.length, n, 'the input is left alone');
  }
});

test('sortInSlices: other tasks run while a big sort goes on', async () => {
  const rand = mulberry32(15);
  const items = Array.from({ length: 300_000 }, () => rand().toString(36));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const got = await sortInSlices(items, (a, b) => (a < b ? -1 : a > b ? 1 : 0), new TurnBudget(2));
    for (let i = 1; i < got.length; i++) assert.ok(got[i - 1] <= got[i]);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, 'timers ran between slices');
});
