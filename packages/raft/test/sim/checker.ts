// Global safety checker. Nodes report what they persist, commit and apply; the checker compares
// across nodes and across time (it remembers the whole history of one run).
//
// Logs are compared through chain hashes: chain(i) = mix(chain(i-1), term_i, hash(data_i)), so
// two entries with equal chain hashes have equal prefixes (up to hash collisions).
import type { NodeId } from '../../src/index.js';

export class SimFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimFailure';
  }
}

function fail(message: string): never {
  throw new SimFailure(message);
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly chainOf = new Map<string, number>(); // `${index}:${term}` -> chain
  private readonly committedChain = new Map<number, number>();
  /** highest commit index reported by a node while at term t */
  private readonly maxCommitAtTerm = new Map<number, number>();
  private readonly appliedDigest = new Map<number, number>();
  /** highest index applied anywhere: every write up to here is acknowledged */
  maxApplied = 0;
  maxCommitted = 0;
  stats = { leaders: 0, reads: 0, applies: 0, snapshotsInstalled: 0 };

  /** Election safety: at most one leader per term, over the whole history. */
  leader(id: NodeId, term: number): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev === undefined) {
      this.leaderOfTerm.set(term, id);
      this.stats.leaders++;
    } else if (prev !== id) fail(`election safety: ${prev} and ${id} are both leaders of term ${term}`);
  }

  /** Log matching: a node persisted entry (index, term) whose prefix hashes to chain. */
  persisted(id: NodeId, index: number, term: number, chain: number): void {
    const k = `${index}:${term}`;
    const prev = this.chainOf.get(k);
    if (prev === undefined) this.chainOf.set(k, chain);
    else if (prev !== chain) fail(`log matching: node ${id} has entry ${index}@${term} with a different prefix than another node`);
  }

  /** A node durably recorded commit index `index` while at `term`; `chain` is its log's chain there (undefined if compacted). */
  committed(id: NodeId, index: number, term: number, chain: number | undefined): void {
    if (chain !== undefined) {
      const prev = this.committedChain.get(index);
      if (prev === undefined) this.committedChain.set(index, chain);
      else if (prev !== chain) fail(`commit safety: node ${id} committed a different entry at ${index}`);
    }
    const m = this.maxCommitAtTerm.get(term) ?? 0;
    if (index > m) this.maxCommitAtTerm.set(term, index);
    if (index > this.maxCommitted) this.maxCommitted = index;
  }

  /**
   * Leader completeness: a node just became leader of `term`; every entry known committed at a
   * lower term must be in its log. chainAt returns the leader's chain at an index (undefined if
   * compacted into its snapshot, which only holds committed state, or beyond its log: null).
   */
  newLeader(id: NodeId, term: number, firstIndex: number, chainAt: (i: number) => number | null): void {
    let k = 0;
    for (const [t, idx] of this.maxCommitAtTerm) if (t < term && idx > k) k = idx;
    if (k < firstIndex) return;
    const c = chainAt(k);
    if (c === null) fail(`leader completeness: leader ${id} of term ${term} lacks committed entry ${k}`);
    const want = this.committedChain.get(k);
    if (want !== undefined && want !== c) fail(`leader completeness: leader ${id} of term ${term} has a different entry at committed index ${k}`);
  }

  /** State machine safety: after applying index, the node's state digest must match everyone's. */
  applied(id: NodeId, index: number, digest: number): void {
    const prev = this.appliedDigest.get(index);
    if (prev === undefined) this.appliedDigest.set(index, digest);
    else if (prev !== digest) fail(`state machine safety: node ${id} applied a different entry at ${index}`);
    if (index > this.maxApplied) this.maxApplied = index;
    this.stats.applies++;
  }

  /** Linearizable reads: the read index covers every write acknowledged before the read was issued. */
  readAnswered(id: NodeId, ctx: string, index: number, ackedAtIssue: number): void {
    this.stats.reads++;
    if (index < ackedAtIssue) fail(`read index: read ${ctx} on node ${id} got index ${index} but index ${ackedAtIssue} was acknowledged before it was issued`);
  }
}
