// Storage is raft's read-only view of the stable (persisted) log. The application writes to it
// when it persists a Ready; raft only reads. MemoryStorage is the in-memory implementation used by
// tests, the simulator and (with a WAL in front of it) by the server.
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable, assert } from './errors.js';
import { entryEncodedSize } from './message.js';

export interface Storage {
  /** Persisted hard state and the configuration of the latest snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), at most maxSizeBytes (encoded size) but always at least one entry when
   * lo < hi. Throws ErrCompacted when lo <= the snapshot index, ErrUnavailable when beyond the log.
   */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[];
  /** Term of entry i; valid for [firstIndex()-1, lastIndex()]. Throws ErrCompacted / ErrUnavailable. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** Latest snapshot; may throw ErrSnapshotTemporarilyUnavailable. */
  snapshot(): Snapshot;
}

export function emptySnapshot(): Snapshot {
  return { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } } };
}

/** Cuts `ents` (in place semantics: returns a prefix) so its encoded size stays within maxSizeBytes; keeps at least one. */
export function limitSize(ents: Entry[], maxSizeBytes: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entryEncodedSize(ents[0]);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entryEncodedSize(ents[limit]);
    if (size > maxSizeBytes) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

/** End (exclusive) of the longest run ents[from..end) within maxSizeBytes, at least one entry. */
export function sizeLimitedEnd(ents: Entry[], from: number, to: number, maxSizeBytes: number): number {
  if (to - from <= 1) return to;
  let size = entryEncodedSize(ents[from]);
  let end = from + 1;
  for (; end < to; end++) {
    size += entryEncodedSize(ents[end]);
    if (size > maxSizeBytes) break;
  }
  return end;
}

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  private snap: Snapshot = emptySnapshot();
  // ents[0] is a dummy entry carrying the snapshot's index and term; real entries follow.
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  hardStateSnapshot(): HardState {
    return { ...this.hardState };
  }

  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new ErrCompacted();
    assert(hi <= this.lastIndex() + 1, `entries hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.ents.length === 1) throw new ErrUnavailable();
    const from = lo - offset;
    // Size first, then copy only what is returned (a lagging follower must not cost O(log) per message).
    return this.ents.slice(from, sizeLimitedEnd(this.ents, from, hi - offset, maxSizeBytes));
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new ErrCompacted();
    if (i - offset >= this.ents.length) throw new ErrUnavailable();
    return this.ents[i - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole state with a snapshot (a follower that received MsgSnap, or a restore). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw new ErrSnapOutOfDate();
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 0, data: new Uint8Array(0) }];
  }

  /**
   * Records a snapshot of the application state at index i (i must be applied). Use compact()
   * afterwards to drop the log entries it covers.
   */
  createSnapshot(i: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    const offset = this.ents[0].index;
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = {
      data,
      metadata: {
        index: i,
        term: this.ents[i - offset].term,
        confState: confState ? cloneConfState(confState) : this.snap.metadata.confState,
      },
    };
    return this.snap;
  }

  /** Discards entries up to and including compactIndex. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) throw new ErrCompacted();
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head: Entry = { term: this.ents[i].term, index: this.ents[i].index, type: 0, data: new Uint8Array(0) };
    const rest = this.ents.slice(i + 1);
    rest.unshift(head);
    this.ents = rest;
  }

  /** Appends entries; entries overlapping the stored log replace the conflicting suffix. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // all already compacted
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const offset = entries[0].index - this.ents[0].index;
    if (this.ents.length > offset) {
      this.ents.length = offset;
      for (let k = 0; k < entries.length; k++) this.ents.push(entries[k]);
    } else if (this.ents.length === offset) {
      for (let k = 0; k < entries.length; k++) this.ents.push(entries[k]);
    } else {
      assert(false, `missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    }
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: cs.voters.slice(), learners: cs.learners.slice() };
}
