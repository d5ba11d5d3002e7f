// The ordered in-memory index of user keys (etcd's treeIndex): a sorted sequence of KeyIndex
// split into bounded chunks (a two-level B-tree), plus a hash map for point lookups.
// Keys are latin1 strings, whose code-unit order equals byte order.

import { KeyIndex } from './key-index.js';
import type { TurnBudget } from '../loop/turn-budget.js';

const maxChunkKeys = 512;

export class TreeIndex {
  private chunks: KeyIndex[][] = [];
  private byKey = new Map<string, KeyIndex>();

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  /** The KeyIndex for key, created (empty) if absent. */
  getOrCreate(key: string): KeyIndex {
    let ki = this.byKey.get(key);
    if (ki !== undefined) return ki;
    ki = new KeyIndex(key);
    this.insert(ki);
    return ki;
  }

  /**
   * Replaces the contents with `kis`, which must be sorted by key and unique (rebuild on open:
   * O(n) instead of n inserts). Chunks are filled to 3/4 to leave room for inserts.
   */
  bulkLoad(kis: KeyIndex[], byKey?: Map<string, KeyIndex>): void {
    for (const _ of this.loadSteps(kis, byKey));
  }

  /** bulkLoad in slices of the event loop; the contents are replaced at the end. */
  async bulkLoadInSlices(kis: KeyIndex[], byKey: Map<string, KeyIndex> | undefined, budget: TurnBudget): Promise<void> {
    for (const _ of this.loadSteps(kis, byKey)) if (budget.spent()) await budget.next();
  }

  /** The work of bulkLoad, one chunk per step. */
  private *loadSteps(kis: KeyIndex[], byKey: Map<string, KeyIndex> | undefined): Generator<void> {
    const fill = (maxChunkKeys * 3) >> 2;
    const chunks: KeyIndex[][] = [];
    for (let i = 0; i < kis.length; i += fill) {
      const end = Math.min(kis.length, i + fill);
      for (let j = Math.max(1, i); j < end; j++) {
        if (!(kis[j - 1].key < kis[j].key)) throw new Error('mvcc invariant violated: bulk load not sorted');
      }
      chunks.push(kis.slice(i, end));
      yield;
    }
    let map = byKey;
    if (map !== undefined) {
      // the caller hands over a map holding exactly these entries
      if (map.size !== kis.length) throw new Error('mvcc invariant violated: bulk load map size');
    } else {
      map = new Map();
      for (const ki of kis) map.set(ki.key, ki);
    }
    this.chunks = chunks;
    this.byKey = map;
  }

  /** Adds a KeyIndex for a key known to be absent (one hash lookup less than getOrCreate). */
  create(key: string): KeyIndex {
    const ki = new KeyIndex(key);
    this.insert(ki);
    return ki;
  }

  /** Index of the first chunk whose last key >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    const cs = this.chunks;
    let lo = 0;
    let hi = cs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = cs[mid];
      if (c[c.length - 1].key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static lowerBound(c: KeyIndex[], key: string): number {
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid].key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(ki: KeyIndex): void {
    const before = this.byKey.size;
    this.byKey.set(ki.key, ki);
    if (this.byKey.size !== before + 1) throw new Error('mvcc invariant violated: key inserted twice into the index');
    const cs = this.chunks;
    if (cs.length === 0) {
      cs.push([ki]);
      return;
    }
    let ci = this.chunkFor(ki.key);
    if (ci === cs.length) ci--; // greater than every key: append to the last chunk
    const c = cs[ci];
    const at = TreeIndex.lowerBound(c, ki.key);
    c.splice(at, 0, ki);
    if (c.length > maxChunkKeys) cs.splice(ci + 1, 0, c.splice(c.length >> 1));
  }

  remove(key: string): void {
    if (!this.byKey.delete(key)) return;
    const ci = this.chunkFor(key);
    const c = this.chunks[ci];
    const at = TreeIndex.lowerBound(c, key);
    if (c[at] === undefined || c[at].key !== key) throw new Error('mvcc invariant violated: tree index out of sync');
    c.splice(at, 1);
    if (c.length === 0) this.chunks.splice(ci, 1);
  }

  /**
   * Calls fn for every key with start <= key < end (end null: no upper bound), in key order,
   * until fn returns false.
   */
  ascend(start: string, end: string | null, fn: (ki: KeyIndex) => boolean | void): void {
    const cs = this.chunks;
    let ci = this.chunkFor(start);
    if (ci === cs.length) return;
    let i = TreeIndex.lowerBound(cs[ci], start);
    for (; ci < cs.length; ci++, i = 0) {
      const c = cs[ci];
      for (; i < c.length; i++) {
        const ki = c[i];
        if (end !== null && ki.key >= end) return;
        if (fn(ki) === false) return;
      }
    }
  }

  /** Checks ordering and map/chunk agreement (tests). */
  verify(): void {
    let n = 0;
    let prev: string | null = null;
    for (const c of this.chunks) {
      if (c.length === 0 || c.length > maxChunkKeys) throw new Error('tree index: bad chunk size');
      for (const ki of c) {
        if (prev !== null && !(prev < ki.key)) throw new Error('tree index: keys out of order');
        if (this.byKey.get(ki.key) !== ki) throw new Error('tree index: map mismatch');
        prev = ki.key;
        n++;
      }
    }
    if (n !== this.byKey.size) throw new Error('tree index: size mismatch');
  }
}
