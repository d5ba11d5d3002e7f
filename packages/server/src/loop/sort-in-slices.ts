// Sorting a big array without holding the event loop: runs small enough to sort within one
// slice, then merged pairwise, yielding between slices (see turn-budget.ts). Stable, like
// Array.prototype.sort.

import { TurnBudget } from './turn-budget.js';

const runItems = 8192;
/** items merged between two looks at the clock */
const mergeStride = 4096;

export async function sortInSlices<T>(items: T[], cmp: (a: T, b: T) => number, budget = new TurnBudget()): Promise<T[]> {
  const n = items.length;
  let src = items.slice();
  for (let lo = 0; lo < n; lo += runItems) {
    const run = src.slice(lo, lo + runItems).sort(cmp);
    for (let i = 0; i < run.length; i++) src[lo + i] = run[i];
    await budget.pause();
  }
  let dst = new Array<T>(n);
  for (let width = runItems; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (k < hi) {
        const stop = Math.min(hi, k + mergeStride);
        for (; k < stop; k++) dst[k] = j >= hi || (i < mid && cmp(src[i], src[j]) <= 0) ? src[i++] : src[j++];
        await budget.pause();
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}
