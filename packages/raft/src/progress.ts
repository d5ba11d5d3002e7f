// The leader's view of each follower (Progress) and of the configuration (ProgressTracker).
//
// A follower's progress is in one of three states:
//  - Probe:     we don't know where its log ends; send one MsgApp per heartbeat interval and
//               walk `next` back on rejections until a match is found.
//  - Replicate: steady state; send optimistically (next jumps past what we sent) limited by the
//               inflight window.
//  - Snapshot:  the entries it needs were compacted; a snapshot is in flight, send nothing else
//               until it is reported (reportSnapshot) or acknowledged by a MsgAppResp.
import type { NodeId } from './types.js';
import { Inflights } from './inflights.js';

export type ProgressStateType = 'Probe' | 'Replicate' | 'Snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressStateType = 'Probe';
  pendingSnapshot = 0;
  /** heard from during the current election timeout (check-quorum) */
  recentActive = false;
  /** in Probe: a MsgApp is outstanding, wait for its answer or the next heartbeat */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressStateType): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'Snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('Probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('Probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('Replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('Snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgAppResp acknowledged index n. Returns false if it was stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < n + 1) this.next = n + 1;
    return updated;
  }

  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * The follower rejected a MsgApp at index `rejected`; `matchHint` is our best guess of the
   * largest index where the logs may agree. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'Replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'Probe':
        return this.probeSent;
      case 'Replicate':
        return this.inflights.full();
      case 'Snapshot':
        return true;
    }
  }
}

export type VoteResult = 'Pending' | 'Won' | 'Lost';

export class ProgressTracker {
  readonly progress = new Map<NodeId, Progress>();
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;
  private matchScratch: number[] = [];

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  quorum(): number {
    return (this.voters.size >> 1) + 1;
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /** Largest index replicated on a quorum of voters (their sorted match, taken at the quorum rank). */
  committed(): number {
    const n = this.voters.size;
    if (n === 0) return Number.MAX_SAFE_INTEGER; // no voters: commit nothing (term check fails)
    const s = this.matchScratch;
    s.length = 0;
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      const m = pr ? pr.match : 0;
      // insertion sort, descending; n is tiny (cluster size)
      let k = s.length;
      s.push(m);
      while (k > 0 && s[k - 1] < m) {
        s[k] = s[k - 1];
        k--;
      }
      s[k] = m;
    }
    return s[this.quorum() - 1];
  }

  /** Whether a quorum of voters was recently active (check-quorum). */
  quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) if (this.progress.get(id)?.recentActive) active++;
    return active >= this.quorum();
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    const q = this.quorum();
    const missing = this.voters.size - granted - rejected;
    let result: VoteResult = 'Pending';
    if (granted >= q) result = 'Won';
    else if (granted + missing < q) result = 'Lost';
    return { granted, rejected, result };
  }

  /** Voter ids in ascending order (stable message order for deterministic runs). */
  sortedVoters(): NodeId[] {
    return [...this.voters].sort(cmpId);
  }

  sortedIds(): NodeId[] {
    return [...this.progress.keys()].sort(cmpId);
  }
}

export function cmpId(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
