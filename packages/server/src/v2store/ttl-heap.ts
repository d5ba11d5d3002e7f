// The v2 store's nodes with an expiry, earliest first (etcd's ttlKeyHeap): a binary min-heap
// that knows each node's position, so updates and removals are O(log n).

import type { V2Node } from './node.js';

export class TtlHeap {
  private readonly a: V2Node[] = [];

  get size(): number {
    return this.a.length;
  }

  top(): V2Node | undefined {
    return this.a[0];
  }

  push(n: V2Node): void {
    if (n.heapIndex >= 0) {
      this.update(n);
      return;
    }
    n.heapIndex = this.a.length;
    this.a.push(n);
    this.up(n.heapIndex);
  }

  pop(): V2Node | undefined {
    const n = this.a[0];
    if (n !== undefined) this.remove(n);
    return n;
  }

  update(n: V2Node): void {
    if (n.heapIndex < 0) return;
    this.down(n.heapIndex);
    this.up(n.heapIndex);
  }

  remove(n: V2Node): void {
    const i = n.heapIndex;
    if (i < 0 || this.a[i] !== n) return;
    const last = this.a.pop()!;
    n.heapIndex = -1;
    if (last === n) return;
    this.a[i] = last;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  clear(): void {
    for (const n of this.a) n.heapIndex = -1;
    this.a.length = 0;
  }

  private less(i: number, j: number): boolean {
    return this.a[i].expireTime < this.a[j].expireTime;
  }

  private swap(i: number, j: number): void {
    const t = this.a[i];
    this.a[i] = this.a[j];
    this.a[j] = t;
    this.a[i].heapIndex = i;
    this.a[j].heapIndex = j;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.a.length) break;
      let m = l;
      if (l + 1 < this.a.length && this.less(l + 1, l)) m = l + 1;
      if (!this.less(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }
}
