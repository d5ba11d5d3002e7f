// RaftLog = stable entries (Storage) + unstable tail, with the commit and applied cursors.
// Invariant: applied <= committed <= lastIndex(); firstIndex()-1 is the snapshot index.
import type { Entry, Snapshot } from './types.js';
import type { Storage } from './storage.js';
import { limitSize, sizeLimitedEnd } from './storage.js';
import { UnstableLog } from './unstable-log.js';
import { ErrCompacted, ErrUnavailable, ErrSnapshotTemporarilyUnavailable, assert } from './errors.js';

export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  committed: number;
  applied: number;
  /** byte cap on the committed entries handed out in one Ready */
  readonly maxNextEntsBytes: number;

  constructor(storage: Storage, maxNextEntsBytes = NO_LIMIT) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.maxNextEntsBytes = maxNextEntsBytes;
  }

  /**
   * Appends entries sent by the leader after (index, logTerm) if our log matches there.
   * Returns the index of the last new entry, or -1 when the log does not match.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      const from = ci - (index + 1);
      this.append(from === 0 ? ents : ents.slice(from));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    assert(after >= this.committed, `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index in ents whose term disagrees with ours (or that we lack); 0 if all match. */
  findConflict(ents: Entry[]): number {
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k];
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Largest index <= index whose term is <= term. Used by both sides of a rejected MsgApp to
   * skip a whole term of conflicting entries in one round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    const li = this.lastIndex();
    if (index > li) return index;
    for (;;) {
      let t: number;
      try {
        t = this.term(index);
      } catch {
        break;
      }
      if (t <= term) break;
      index--;
    }
    return index;
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Committed entries not yet applied (bounded by maxNextEntsBytes). */
  nextEnts(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsBytes);
    return [];
  }

  hasNextEnts(): boolean {
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined && this.unstable.snapshot.metadata.index !== 0;
  }

  snapshot(): Snapshot {
    if (this.unstable.snapshot) return this.unstable.snapshot;
    return this.storage.snapshot();
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    return i !== undefined ? i : this.storage.firstIndex();
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    return i !== undefined ? i : this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      assert(this.lastIndex() >= toCommit, `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      this.committed = toCommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(this.committed >= i && i >= this.applied, `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * Term of entry i. Out of range (beyond the log, or before the snapshot's dummy entry) is 0;
   * throws ErrCompacted/ErrUnavailable when storage lost the entry.
   */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** term(i), or 0 when the entry was compacted. */
  termOrZero(i: number): number {
    try {
      return this.term(i);
    } catch (e) {
      if (e instanceof ErrCompacted || e instanceof ErrUnavailable) return 0;
      throw e;
    }
  }

  /** Entries from i to the end, at most maxSizeBytes. */
  entries(i: number, maxSizeBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSizeBytes);
  }

  /** Section 5.4.1 of the Raft paper: is (lasti, term) at least as up-to-date as our log? */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    try {
      return this.term(i) === term;
    } catch {
      return false;
    }
  }

  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi) from storage and/or the unstable tail. Throws ErrCompacted if lo is compacted. */
  slice(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    assert(lo <= hi, `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new ErrCompacted();
    assert(hi <= this.lastIndex() + 1, `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const uoff = this.unstable.offset;
    let ents: Entry[] | undefined;
    if (lo < uoff) {
      const stableHi = Math.min(hi, uoff);
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, stableHi, maxSizeBytes);
      } catch (e) {
        if (e instanceof ErrUnavailable) assert(false, `entries[${lo}:${stableHi}) is unavailable from storage`);
        throw e;
      }
      // storage already applied the byte limit and it bit: stop here.
      if (stored.length < stableHi - lo) return stored;
      ents = stored;
    }
    if (hi > uoff) {
      const ulo = Math.max(lo, uoff);
      // cap the copy: only what can fit in maxSizeBytes (limitSize below trims exactly)
      const uhi = uoff + sizeLimitedEnd(this.unstable.entries, ulo - uoff, hi - uoff, maxSizeBytes);
      const u = this.unstable.slice(ulo, uhi);
      if (ents !== undefined && ents.length > 0) {
        const combined = ents.slice();
        for (let k = 0; k < u.length; k++) combined.push(u[k]);
        ents = combined;
      } else {
        ents = u;
      }
    }
    return limitSize(ents ?? [], maxSizeBytes);
  }
}

export { ErrSnapshotTemporarilyUnavailable };
