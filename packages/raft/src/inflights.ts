// Bounded window of in-flight MsgApp messages to one follower (flow control). Each slot holds the
// last index carried by one message; a response for index i frees every slot <= i.
import { assert } from './errors.js';

export class Inflights {
  private start = 0;
  private count = 0;
  private readonly buffer: number[];
  readonly capacity: number;

  constructor(capacity: number) {
    assert(capacity > 0, 'inflights capacity must be > 0');
    this.capacity = capacity;
    this.buffer = new Array<number>(capacity).fill(0);
  }

  get size(): number {
    return this.count;
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'cannot add into a full inflights');
    let next = this.start + this.count;
    if (next >= this.capacity) next -= this.capacity;
    this.buffer[next] = lastIndex;
    this.count++;
  }

  /** Frees every in-flight message whose last index is <= to. */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.buffer[this.start]) return;
    let idx = this.start;
    let i = 0;
    for (; i < this.count; i++) {
      if (to < this.buffer[idx]) break;
      idx++;
      if (idx >= this.capacity) idx -= this.capacity;
    }
    this.count -= i;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.buffer[this.start]);
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
  }
}
