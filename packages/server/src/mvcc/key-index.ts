// Revision history of one user key (etcd's keyIndex), packed into one flat number array to
// avoid per-revision objects: pairs (main, sub) in increasing revision order, where a tombstone
// is stored with sub encoded as -(sub + 1). A generation is a run of revisions ended by a
// tombstone; the part after the last tombstone is the open generation (empty: key deleted).

export class KeyIndex {
  /** user key as a latin1 string (byte order == string order) */
  readonly key: string;
  /** main0, sub0, main1, sub1, ... (sub < 0: tombstone, real sub = -sub - 1) */
  revs: number[];
  /**
   * The open generation's create revision, version and lease, as etcd's keyIndex keeps them, so
   * that a put over a live key needs no backend read. `ver` 0 means "not known here" (an index
   * rebuilt from the backend): the next put reads the stored value once and fills them in.
   */
  created: number;
  ver: number;
  lease: bigint;
  constructor(key: string) {
    this.key = key;
    this.revs = [];
    this.created = 0;
    this.ver = 0;
    this.lease = 0n;
  }
}

export function pairCount(ki: KeyIndex): number {
  return ki.revs.length >> 1;
}

export function encodeSub(sub: number, tombstone: boolean): number {
  return tombstone ? -sub - 1 : sub;
}

export function decodeSub(enc: number): number {
  return enc < 0 ? -enc - 1 : enc;
}

/** revs arrays are reallocated to their exact size up to this many numbers (8 revisions). */
const exactRevsUpTo = 16;

/** Appends a revision; revisions must arrive in increasing order. */
export function appendRev(ki: KeyIndex, main: number, sub: number, tombstone: boolean): void {
  const r = ki.revs;
  const n = r.length;
  if (n > 0) {
    const lm = r[n - 2];
    const ls = decodeSub(r[n - 1]);
    if (lm > main || (lm === main && ls >= sub)) {
      throw new Error(`mvcc invariant violated: revision ${main}/${sub} not after ${lm}/${ls} for a key`);
    }
    if (tombstone && r[n - 1] < 0) throw new Error('mvcc invariant violated: tombstone of a deleted key');
  } else if (tombstone) {
    throw new Error('mvcc invariant violated: tombstone of an unknown key');
  }
  // Exact-size arrays while a key has few revisions (most keys: push() would reserve 17-19
  // slots, 150 bytes more per key — 140 MiB at 1M keys written twice); push()'s amortized
  // growth beyond, for keys with long histories.
  if (n === 0) ki.revs = [main, encodeSub(sub, tombstone)];
  else if (n < exactRevsUpTo) ki.revs = r.concat(main, encodeSub(sub, tombstone));
  else r.push(main, encodeSub(sub, tombstone));
}

/** Pair index of the latest revision with main <= atRev, or -1. */
export function findAt(ki: KeyIndex, atRev: number): number {
  const r = ki.revs;
  // Most lookups hit the latest revision.
  let hi = (r.length >> 1) - 1;
  if (hi < 0) return -1;
  if (r[hi << 1] <= atRev) return hi;
  let lo = 0;
  // binary search: last i with r[2i] <= atRev
  let ans = -1;
  hi--;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (r[mid << 1] <= atRev) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Pair index of the live revision at atRev (not a tombstone), or -1 if the key is absent then. */
export function liveAt(ki: KeyIndex, atRev: number): number {
  const i = findAt(ki, atRev);
  if (i < 0 || ki.revs[(i << 1) + 1] < 0) return -1;
  return i;
}

/** Pair index of exactly (main, encoded sub), or -1. */
export function indexOfRev(ki: KeyIndex, main: number, subEnc: number): number {
  const r = ki.revs;
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = r[mid << 1];
    if (m < main) lo = mid + 1;
    else if (m > main) hi = mid - 1;
    else {
      // same main revision: scan the (short) run
      let i = mid;
      while (i > 0 && r[(i - 1) << 1] === main) i--;
      for (; i <= (r.length >> 1) - 1 && r[i << 1] === main; i++) if (r[(i << 1) + 1] === subEnc) return i;
      return -1;
    }
  }
  return -1;
}

/**
 * First pair index kept by a compaction at `atRev` (etcd keyIndex.compact): generations whose
 * tombstone is <= atRev go; in the generation alive at atRev, revisions before the latest one
 * <= atRev go; a generation left holding only its tombstone goes too.
 */
export function compactKeepFrom(ki: KeyIndex, atRev: number): number {
  const r = ki.revs;
  const n = r.length >> 1;
  let gs = 0;
  let gEnd = n;
  let last = true;
  for (;;) {
    let t = gs;
    while (t < n && r[(t << 1) + 1] >= 0) t++;
    if (t === n) {
      gEnd = n;
      last = true;
      break;
    }
    if (r[t << 1] > atRev) {
      gEnd = t + 1;
      last = false;
      break;
    }
    gs = t + 1;
  }
  let keep = gs;
  for (let i = gEnd - 1; i >= gs; i--) {
    if (r[i << 1] <= atRev) {
      keep = i;
      break;
    }
  }
  if (!last && gEnd - keep === 1) keep = gEnd;
  return keep;
}

/** Applies a compaction at atRev; returns true if the key has no revisions left. */
export function compactKey(ki: KeyIndex, atRev: number): boolean {
  const keep = compactKeepFrom(ki, atRev);
  if (keep > 0) ki.revs = ki.revs.slice(keep << 1);
  return ki.revs.length === 0;
}
