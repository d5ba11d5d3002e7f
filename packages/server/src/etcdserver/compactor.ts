// Auto compaction (etcd --auto-compaction-mode / --auto-compaction-retention).
//   periodic: keep `retention` of history; samples the revision every retention/10 and compacts to
//             the revision seen `retention` ago.
//   revision: every 5 minutes, compact to (current revision - retention).

import { parseGoDurationMs } from '@tsetcd/common';

export type Retention = { mode: 'periodic'; periodMs: number } | { mode: 'revision'; revisions: bigint } | undefined;

/** etcd's revision compactor runs every 5 minutes. */
export const revisionCompactIntervalMs = 5 * 60 * 1000;

export function parseRetention(mode: string, value: string): Retention {
  if (mode === 'revision') {
    if (!/^\d+$/.test(value)) throw new Error(`invalid auto-compaction-retention "${value}" for revision mode`);
    const n = BigInt(value);
    return n === 0n ? undefined : { mode: 'revision', revisions: n };
  }
  if (mode !== 'periodic') throw new Error(`unknown auto-compaction-mode "${mode}"`);
  // a bare integer means hours, as in etcd
  const ms = /^\d+$/.test(value) ? Number(value) * 3_600_000 : parseGoDurationMs(value);
  return ms === 0 ? undefined : { mode: 'periodic', periodMs: ms };
}

export interface CompactorTarget {
  currentRevision(): bigint;
  compactRevision(): bigint;
  isLeader(): boolean;
  compact(rev: bigint): Promise<void>;
}

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private samples: Array<{ at: number; rev: bigint }> = [];
  private busy = false;

  constructor(private readonly r: Exclude<Retention, undefined>, private readonly t: CompactorTarget, private readonly now = () => Date.now()) {
    const every = r.mode === 'periodic' ? Math.max(1000, r.periodMs / 10) : revisionCompactIntervalMs;
    this.timer = setInterval(() => this.run(), every);
    this.timer.unref();
    if (r.mode === 'periodic') this.samples.push({ at: this.now(), rev: t.currentRevision() });
  }

  private run(): void {
    if (this.busy || !this.t.isLeader()) return;
    let target: bigint | undefined;
    if (this.r.mode === 'periodic') {
      const now = this.now();
      this.samples.push({ at: now, rev: this.t.currentRevision() });
      let pick: { at: number; rev: bigint } | undefined;
      while (this.samples.length > 0 && now - this.samples[0].at >= this.r.periodMs) pick = this.samples.shift();
      if (pick) target = pick.rev;
    } else {
      target = this.t.currentRevision() - this.r.revisions;
    }
    if (target === undefined || target <= 0n || target <= this.t.compactRevision()) return;
    this.busy = true;
    this.t.compact(target).catch(() => undefined).finally(() => (this.busy = false));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
