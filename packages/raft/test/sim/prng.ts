// Seeded randomness for the simulator. Everything random in a run derives from one seed, so a
// failing seed replays exactly.
import { mulberry32 } from '@tsetcd/common';

export { mulberry32 };


export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }
  /** a child seed, for a component that needs its own stream (e.g. a node's election timer) */
  fork(): number {
    return Math.floor(this.next() * 0x100000000);
  }
}
