// A user's key permissions merged into sorted, disjoint half-open intervals, one set for READ
// and one for WRITE (etcd's unifiedRangePermissions). A request over [key, range_end) is allowed
// when the union of the granted intervals covers it entirely.
//
// Conventions (etcd's): a permission or request with an empty range_end is the single key `key`;
// a range_end of "\0" means "to the end of the keyspace".

import { authpb } from '@tsetcd/proto';

/** [start, end) over byte strings; `end === undefined` is +infinity. */
export interface KeyInterval {
  start: Buffer;
  end: Buffer | undefined;
}

const zeroByte = Buffer.of(0);

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`auth range permissions invariant violated: ${msg}`);
}

/** The interval a (key, range_end) pair names: a point, a range, or from key to the end. */
export function keyInterval(key: Buffer, rangeEnd: Buffer): KeyInterval {
  if (rangeEnd.length === 0) return { start: key, end: Buffer.concat([key, zeroByte]) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: undefined };
  return { start: key, end: rangeEnd };
}

/** end a < end b, with undefined as +infinity */
function endLess(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  return Buffer.compare(a, b) < 0;
}

/** Sorted by start, pairwise disjoint and non-adjacent (touching intervals are joined). */
export class IntervalSet {
  private readonly items: KeyInterval[];

  constructor(intervals: KeyInterval[]) {
    const sorted = intervals.filter((i) => i.end === undefined || Buffer.compare(i.start, i.end) < 0).sort((a, b) => Buffer.compare(a.start, b.start));
    const out: KeyInterval[] = [];
    for (const iv of sorted) {
      const last = out[out.length - 1];
      // joins when the next one starts at or before the current end
      if (last !== undefined && (last.end === undefined || Buffer.compare(iv.start, last.end) <= 0)) {
        if (endLess(last.end, iv.end)) last.end = iv.end;
      } else {
        out.push({ start: iv.start, end: iv.end });
      }
    }
    for (let i = 1; i < out.length; i++) {
      const prevEnd = out[i - 1].end;
      assert(prevEnd !== undefined && Buffer.compare(prevEnd, out[i].start) < 0, 'merged intervals overlap or touch');
    }
    this.items = out;
  }

  get size(): number {
    return this.items.length;
  }

  /** Whether one merged interval covers all of `q` (the merge makes one enough). */
  covers(q: KeyInterval): boolean {
    if (q.end !== undefined && Buffer.compare(q.start, q.end) >= 0) {
      // an empty request range (end <= start): etcd checks only that the start key is permitted
      return this.covers({ start: q.start, end: Buffer.concat([q.start, zeroByte]) });
    }
    // the last interval starting at or before q.start
    let lo = 0;
    let hi = this.items.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(this.items[mid].start, q.start) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return false;
    const iv = this.items[found];
    return !endLess(iv.end, q.end);
  }

  toArray(): readonly KeyInterval[] {
    return this.items;
  }
}

export class UnifiedPermissions {
  constructor(
    readonly read: IntervalSet,
    readonly write: IntervalSet,
  ) {}

  static fromRoles(perms: Iterable<authpb.Permission>): UnifiedPermissions {
    const read: KeyInterval[] = [];
    const write: KeyInterval[] = [];
    for (const p of perms) {
      const iv = keyInterval(p.key, p.rangeEnd);
      if (p.permType === authpb.Permission_Type.READ || p.permType === authpb.Permission_Type.READWRITE) read.push(iv);
      if (p.permType === authpb.Permission_Type.WRITE || p.permType === authpb.Permission_Type.READWRITE) write.push(iv);
    }
    return new UnifiedPermissions(new IntervalSet(read), new IntervalSet(write));
  }

  allows(kind: 'read' | 'write', key: Buffer, rangeEnd: Buffer): boolean {
    return (kind === 'read' ? this.read : this.write).covers(keyInterval(key, rangeEnd));
  }
}
