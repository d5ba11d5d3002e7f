// Long jobs on the event loop (hashing, snapshots, rebuilding the index, compaction) run in
// slices: a job checks spent() between small units of work and, once it has held the loop for
// its budget, awaits next(), which lets every other task (requests, raft ticks, commits) run
// before the job continues. No single task of such a job runs much longer than the budget.

import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long one slice of a long job may hold the event loop. */
export const defaultTurnBudgetMs = 8;

export class TurnBudget {
  private since = performance.now();

  constructor(readonly ms = defaultTurnBudgetMs) {}

  /** True once this turn's slice is used up. */
  spent(): boolean {
    return performance.now() - this.since >= this.ms;
  }

  /** Lets the loop run what is waiting, then starts a new slice. */
  async next(): Promise<void> {
    await nextTurn();
    this.since = performance.now();
  }

  /** next() when the slice is used up (the common case of a loop body). */
  async pause(): Promise<void> {
    if (this.spent()) await this.next();
  }
}
