// The Raft state machine proper. Pure: no I/O, no clocks, no randomness of its own. Inputs are
// tick() and step(message); outputs accumulate in `msgs`, `readStates` and the log's unstable
// tail / commit index, which RawNode packages into a Ready.
//
// Long (~1000 lines) on purpose, like etcd-raft's raft.go: elections, replication, reads,
// snapshots and membership all step the same role state; the parts that stand alone (log,
// progress, inflights, read-only queue) have their own files.
import type { ConfChange, ConfState, Entry, HardState, NodeId } from './types.js';
import { ConfChangeType, EntryType, NONE } from './types.js';
import {
  EMPTY_BYTES,
  MessageType,
  NO_ENTRIES,
  newMessage,
  voteResponseType,
  type Message,
  type ReadState,
  type StateType,
} from './message.js';
import type { Storage } from './storage.js';
import { RaftLog, NO_LIMIT } from './raft-log.js';
import { Progress, ProgressTracker, cmpId } from './progress.js';
import { ReadOnly } from './read-only.js';
import { ErrInvalidConfig, ErrProposalDropped, ErrSnapshotTemporarilyUnavailable, assert } from './errors.js';

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

export interface Config {
  id: NodeId;
  /** ticks a follower waits without hearing from a leader before campaigning (randomised to [electionTick, 2*electionTick)) */
  electionTick: number;
  /** ticks between leader heartbeats; must be < electionTick */
  heartbeatTick: number;
  storage: Storage;
  /** last index the application has applied; only set when restarting */
  applied?: number;
  /** byte limit of entries per MsgApp (default 1 MiB) */
  maxSizePerMsg?: number;
  /** committed entries handed out per Ready, in bytes (default unlimited) */
  maxCommittedSizePerReady?: number;
  /** in-flight MsgApp messages per follower in Replicate state (default 256) */
  maxInflightMsgs?: number;
  /** payload bytes the leader accepts while uncommitted (default unlimited) */
  maxUncommittedEntriesSize?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /** seeded source in [0, 1) for the randomised election timeout */
  random: () => number;
  logger?: Logger;
  /**
   * Pipelined storage writes (etcd-raft's AsyncStorageWrites): the application may call
   * advance() once a Ready's writes are started, before they are durable, and reports
   * durability with RawNode.persisted(). Messages that promise durable state (append and vote
   * answers, vote requests) then come in Ready.messagesAfterWrite, and the leader counts its
   * own log towards the commit quorum only up to what was reported durable.
   */
  asyncStorageWrites?: boolean;
}

/**
 * Messages that promise what this node has persisted: an append or vote answer, or a vote
 * request (the candidate's own vote, counted at once, must be durable before another arrives).
 */
const afterWriteTypes = new Set<MessageType>([MessageType.MsgAppResp, MessageType.MsgVoteResp, MessageType.MsgPreVoteResp, MessageType.MsgVote, MessageType.MsgPreVote]);

/** Context of a MsgVote sent because of a leader transfer: it may bypass leader stickiness. */
export const CAMPAIGN_TRANSFER_CTX = new TextEncoder().encode('CampaignTransfer');

const DEFAULT_MAX_SIZE_PER_MSG_BYTES = 1024 * 1024;
const DEFAULT_MAX_INFLIGHT_MSGS = 256;

type CampaignType = 'PreElection' | 'Election' | 'Transfer';

const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly log: RaftLog;
  readonly maxMsgSizeBytes: number;
  readonly maxUncommittedSizeBytes: number;
  prs: ProgressTracker;
  state: StateType = 'Follower';
  isLearner = false;
  msgs: Message[] = [];
  /** asyncStorageWrites: messages to send once the writes they follow are durable */
  msgsAfterWrite: Message[] = [];
  readonly asyncStorageWrites: boolean;
  lead: NodeId = NONE;
  /** target of an ongoing leadership transfer, or NONE */
  leadTransferee: NodeId = NONE;
  /** index of the latest conf change proposal; a new one is refused until applied >= this */
  pendingConfIndex = 0;
  uncommittedSizeBytes = 0;
  readOnly = new ReadOnly();
  /** read requests a new leader received before committing an entry of its own term */
  pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeoutTicks: number;
  readonly electionTimeoutTicks: number;
  randomizedElectionTimeoutTicks = 0;
  private readonly random: () => number;
  readonly logger: Logger;
  /** leader: proposals appended since the last broadcast; flushed (one MsgApp per follower) before Ready */
  appendPending = false;

  constructor(c: Config) {
    if (c.id === NONE) throw new ErrInvalidConfig('cannot use none as id');
    if (!(c.heartbeatTick > 0)) throw new ErrInvalidConfig('heartbeat tick must be greater than 0');
    if (!(c.electionTick > c.heartbeatTick)) throw new ErrInvalidConfig('election tick must be greater than heartbeat tick');
    if (typeof c.random !== 'function') throw new ErrInvalidConfig('random source is required');
    const maxInflight = c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS;
    if (!(maxInflight > 0)) throw new ErrInvalidConfig('max inflight messages must be greater than 0');
    this.id = c.id;
    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? NO_LIMIT);
    this.maxMsgSizeBytes = c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG_BYTES;
    this.maxUncommittedSizeBytes = c.maxUncommittedEntriesSize ?? NO_LIMIT;
    this.prs = new ProgressTracker(maxInflight);
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.asyncStorageWrites = c.asyncStorageWrites ?? false;
    this.heartbeatTimeoutTicks = c.heartbeatTick;
    this.electionTimeoutTicks = c.electionTick;
    this.random = c.random;
    this.logger = c.logger ?? silentLogger;

    const { hardState, confState } = c.storage.initialState();
    this.restoreConfState(confState);
    if (!(hardState.term === 0 && hardState.vote === NONE && hardState.commit === 0)) this.loadState(hardState);
    // Config.applied is handled by RawNode (it replays applied conf changes with the codec).
    this.becomeFollower(this.term, NONE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private loadState(hs: HardState): void {
    assert(hs.commit >= this.log.committed && hs.commit <= this.log.lastIndex(), `hs.commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  confState(): ConfState {
    return { voters: [...this.prs.voters].sort(cmpId), learners: [...this.prs.learners].sort(cmpId) };
  }

  private restoreConfState(cs: ConfState): void {
    const tracker = new ProgressTracker(this.prs.maxInflight);
    this.prs = tracker;
    this.isLearner = false;
    const next = this.log.lastIndex() + 1;
    for (const id of cs.voters) {
      tracker.voters.add(id);
      tracker.progress.set(id, new Progress(next, tracker.maxInflight, false));
    }
    for (const id of cs.learners) {
      if (tracker.voters.has(id)) continue;
      tracker.learners.add(id);
      tracker.progress.set(id, new Progress(next, tracker.maxInflight, true));
      if (id === this.id) this.isLearner = true;
    }
    const self = tracker.progress.get(this.id);
    if (self) self.match = this.log.lastIndex();
  }

  // ---------------------------------------------------------------- sending

  private send(m: Message): void {
    // Forwarded proposals/reads/transfers keep their originator, so answers go back to it.
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      // Vote messages carry the term being campaigned for (or, for rejections, our term).
      assert(m.term !== 0, `term should be set when sending ${MessageType[t]}`);
    } else {
      assert(m.term === 0, `term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Proposals and read requests are forwarded to the leader as if local: no term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (this.asyncStorageWrites && afterWriteTypes.has(t)) this.msgsAfterWrite.push(m);
    else this.msgs.push(m);
  }

  /** Sends a MsgApp (or MsgSnap) to `to` if its progress allows. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends a MsgApp (or MsgSnap) to `to` if its progress allows; unless `sendIfEmpty`, only one
   * carrying entries. `commitOnly` (the commit broadcast): an empty MsgApp to a follower in
   * Replicate state is marked so, and the follower answers it only if it rejects it.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean, commitOnly = false): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    let prevTerm = 0;
    let ents: Entry[] = NO_ENTRIES;
    let needSnapshot = false;
    try {
      prevTerm = this.log.term(pr.next - 1);
      ents = this.log.entries(pr.next, this.maxMsgSizeBytes);
    } catch {
      needSnapshot = true;
    }
    if (!needSnapshot && ents.length === 0 && !sendIfEmpty) return false;
    if (needSnapshot) {
      if (!pr.recentActive) {
        this.logger.debug(`${this.id} ignored sending snapshot to ${to}: not recently active`);
        return false;
      }
      let snap;
      try {
        snap = this.log.snapshot();
      } catch (e) {
        if (e instanceof ErrSnapshotTemporarilyUnavailable) return false;
        throw e;
      }
      assert(snap.metadata.index !== 0, 'need non-empty snapshot');
      pr.becomeSnapshot(snap.metadata.index);
      this.send(newMessage(MessageType.MsgSnap, to, { snapshot: snap }));
      return true;
    }
    const m = newMessage(MessageType.MsgApp, to, {
      index: pr.next - 1,
      logTerm: prevTerm,
      entries: ents,
      commit: this.log.committed,
    });
    const n = ents.length;
    if (n === 0) {
      if (commitOnly && pr.state === 'Replicate') m.commitOnly = true;
    } else {
      if (pr.state === 'Replicate') {
        const last = ents[n - 1].index;
        pr.optimisticUpdate(last);
        pr.inflights.add(last);
      } else if (pr.state === 'Probe') {
        pr.probeSent = true;
      }
    }
    this.send(m);
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array): void {
    // Never tell a follower to commit beyond what it is known to have: it may not have it.
    const pr = this.prs.progress.get(to)!;
    const commit = Math.min(pr.match, this.log.committed);
    this.send(newMessage(MessageType.MsgHeartbeat, to, { commit, context: ctx }));
  }

  bcastAppend(): void {
    this.appendPending = false;
    for (const id of this.prs.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /**
   * bcastAppend after the commit index moved. A follower in Replicate state that has every entry
   * already sent to it gets an empty MsgApp marked commitOnly, which it does not answer unless it
   * rejects it: the answer would repeat the one its entries got (or will get), and is half of
   * the messages per single-client put. Nothing depends on it: Match advances with the entries'
   * answers; if one of those was lost, the next heartbeat answer finds Match behind and an
   * ordinary (answered) MsgApp goes out, as before. Probing followers get ordinary messages.
   */
  private bcastCommit(): void {
    this.appendPending = false;
    for (const id of this.prs.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, true, true);
  }

  /** Broadcast MsgApp for proposals batched since the last flush (called before building a Ready). */
  flushPendingAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.state !== 'Leader') return;
    for (const id of this.prs.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  private bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingRequestCtx();
    this.bcastHeartbeatWithCtx(ctx ?? EMPTY_BYTES);
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array): void {
    for (const id of this.prs.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(newMessage(MessageType.MsgTimeoutNow, to));
  }

  // ---------------------------------------------------------------- commit / append

  /** Advances the commit index to the quorum match if that entry is from the current term. */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.prs.committed(), this.term);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private appendEntries(es: Entry[]): boolean {
    let li = this.log.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i].term = this.term;
      es[i].index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.debug(`${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    li = this.log.append(es);
    // with asyncStorageWrites the leader counts its own entries once they are durable (selfPersisted)
    if (this.asyncStorageWrites) return true;
    this.prs.progress.get(this.id)!.maybeUpdate(li);
    // Single voter: appending is committing. (With more voters no follower can hold entries we
    // just appended, so the quorum index cannot move here.)
    if (this.prs.voters.size === 1) this.maybeCommit();
    return true;
  }

  /**
   * asyncStorageWrites: this node's log up to (index, term) is durable. A leader acknowledges
   * its own entries here, and only here: the commit index never counts a leader's log that a
   * crash could still lose. Ignored when the entry was since replaced or this node is not leader.
   */
  selfPersisted(index: number, term: number): void {
    if (this.state !== 'Leader' || !this.log.matchTerm(index, term)) return;
    const pr = this.prs.progress.get(this.id);
    if (pr === undefined || !pr.maybeUpdate(index)) return;
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastCommit();
    }
  }

  private increaseUncommittedSize(es: Entry[]): boolean {
    let s = 0;
    for (let i = 0; i < es.length; i++) s += es[i].data.byteLength;
    if (this.uncommittedSizeBytes > 0 && s > 0 && this.uncommittedSizeBytes + s > this.maxUncommittedSizeBytes) return false;
    this.uncommittedSizeBytes += s;
    return true;
  }

  reduceUncommittedSize(es: Entry[]): void {
    if (this.uncommittedSizeBytes === 0) return;
    let s = 0;
    for (let i = 0; i < es.length; i++) s += es[i].data.byteLength;
    this.uncommittedSizeBytes = s > this.uncommittedSizeBytes ? 0 : this.uncommittedSizeBytes - s;
  }

  // ---------------------------------------------------------------- state transitions

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.prs.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, old] of this.prs.progress) {
      const pr = new Progress(last + 1, this.prs.maxInflight, old.isLearner);
      if (id === this.id) pr.match = last;
      this.prs.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSizeBytes = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
    this.appendPending = false;
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    assert(r >= 0 && r < 1, `random() must return [0,1), got ${r}`);
    this.randomizedElectionTimeoutTicks = this.electionTimeoutTicks + Math.floor(r * this.electionTimeoutTicks);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'Follower';
    this.logger.debug(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.state !== 'Leader', 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'Candidate';
    this.logger.debug(`${this.id} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    assert(this.state !== 'Leader', 'invalid transition [leader -> pre-candidate]');
    // Pre-candidates keep their term and vote: a pre-vote changes nothing durable.
    this.prs.resetVotes();
    this.lead = NONE;
    this.state = 'PreCandidate';
    this.logger.debug(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.state !== 'Follower', 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'Leader';
    this.prs.progress.get(this.id)!.becomeReplicate();
    // An entry of our own term: entries of earlier terms only commit indirectly, once this one does
    // (Raft paper 5.4.2), and ReadIndex waits for it too.
    const empty: Entry = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES };
    assert(this.appendEntries([empty]), 'empty entry was dropped');
    // No conf change until the empty entry is applied: a new leader must commit an entry of its term
    // before changing membership (the fix for single-server changes in Ongaro's dissertation).
    this.pendingConfIndex = this.log.lastIndex();
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  /** Voters and not a learner: may campaign. */
  promotable(): boolean {
    const pr = this.prs.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot();
  }

  private hup(t: CampaignType): void {
    if (this.state === 'Leader') return;
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    // Don't campaign while a committed conf change is unapplied: we may not be in the config we'd use.
    if (this.log.committed > this.log.applied) {
      const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1, NO_LIMIT);
      for (const e of ents) {
        if (e.type === EntryType.ConfChange) {
          this.logger.warn(`${this.id} cannot campaign at term ${this.term}: unapplied conf change`);
          return;
        }
      }
    }
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === 'PreElection') {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      term = this.term + 1; // the term we would use; not adopted until the pre-vote wins
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    if (this.poll(this.id, voteResponseType(voteMsg), true) === 'Won') {
      // Single voter: won immediately.
      if (t === 'PreElection') this.campaign('Election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.prs.sortedVoters()) {
      if (id === this.id) continue;
      this.send(
        newMessage(voteMsg, id, {
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === 'Transfer' ? CAMPAIGN_TRANSFER_CTX : EMPTY_BYTES,
        }),
      );
    }
  }

  private poll(id: NodeId, t: MessageType, granted: boolean): 'Won' | 'Lost' | 'Pending' {
    this.logger.debug(`${this.id} received ${MessageType[t]} ${granted ? '' : 'rejection '}from ${id} at term ${this.term}`);
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.state === 'Leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeoutTicks;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage(MessageType.MsgHup, NONE, { from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage(MessageType.MsgCheckQuorum, NONE, { from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === 'Leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'Leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeoutTicks) {
      this.heartbeatElapsed = 0;
      this.step(newMessage(MessageType.MsgBeat, NONE, { from: this.id }));
    }
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---------------------------------------------------------------- step

  /** Feeds one message. Throws ErrProposalDropped for proposals/reads that cannot be accepted. */
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER_CTX);
        // Leader stickiness: if we heard from a live leader within the minimum election timeout,
        // don't let a (possibly disruptive, rejoining) node depose it.
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeoutTicks;
        if (!force && inLease) {
          this.logger.debug(`${this.id} ignored ${MessageType[m.type]} from ${m.from} at term ${m.term}: lease not expired`);
          return;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // We bump our term when the pre-vote wins; a granted response has the future term.
      } else if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A stale leader (e.g. after a partition) must learn our term, or it would never step
        // down: with pre-vote/check-quorum we don't bump terms on its messages otherwise.
        this.send(newMessage(MessageType.MsgAppResp, m.from));
      } else if (m.type === MessageType.MsgPreVote) {
        this.send(newMessage(MessageType.MsgPreVoteResp, m.from, { term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? 'PreElection' : 'Election');
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // We can vote for m.from if we already did, or if we have no vote and know no leader this
        // term; a pre-vote for a future term is always considered.
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          // Learners answer too (they may have been promoted without knowing it yet); their
          // votes are not counted unless they are voters in the candidate's configuration.
          this.send(newMessage(voteResponseType(m.type), m.from, { term: m.term }));
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(newMessage(voteResponseType(m.type), m.from, { term: this.term, reject: true }));
        }
        return;
      }
    }
    switch (this.state) {
      case 'Leader':
        this.stepLeader(m);
        return;
      case 'Candidate':
      case 'PreCandidate':
        this.stepCandidate(m);
        return;
      case 'Follower':
        this.stepFollower(m);
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        return;
      case MessageType.MsgCheckQuorum: {
        const self = this.prs.progress.get(this.id);
        if (self) self.recentActive = true;
        if (!this.prs.quorumActive()) {
          this.logger.warn(`${this.id} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, pr] of this.prs.progress) if (id !== this.id) pr.recentActive = false;
        return;
      }
      case MessageType.MsgProp: {
        assert(m.entries.length > 0, `${this.id} stepped empty MsgProp`);
        if (!this.prs.progress.has(this.id)) throw new ErrProposalDropped('leader was removed from the configuration');
        if (this.leadTransferee !== NONE) throw new ErrProposalDropped(`leadership transfer to ${this.leadTransferee} in progress`);
        for (let i = 0; i < m.entries.length; i++) {
          const e = m.entries[i];
          if (e.type !== EntryType.ConfChange) continue;
          // One membership change at a time. Safety argument: a change adds or removes ONE voter,
          // so any majority of the old voter set C and any majority of the new set C' = C ± 1
          // intersect; nodes that already applied the change and nodes that did not can thus never
          // elect two leaders in one term, nor commit conflicting entries. A second change
          // proposed before the first is applied here could leave three configurations in use at
          // once (C, C', C''), and majorities of C and C'' need not intersect. So while
          // pendingConfIndex > applied the new change is replaced with an empty normal entry (it
          // never takes effect; the proposer retries). becomeLeader() also sets pendingConfIndex to
          // its own first entry, so a new leader changes membership only after committing an entry
          // of its term, which rules out a change from a deposed leader's term interleaving with
          // ours (the single-server-change bug reported by Ongaro on raft-dev, 2015).
          if (this.pendingConfIndex > this.log.applied) {
            this.logger.info(`${this.id} ignoring conf change: pending change at ${this.pendingConfIndex}, applied ${this.log.applied}`);
            m.entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES };
          } else {
            this.pendingConfIndex = this.log.lastIndex() + i + 1;
          }
        }
        if (!this.appendEntries(m.entries)) throw new ErrProposalDropped('too many uncommitted entries');
        // Broadcast lazily: many proposals in one Ready cycle share one MsgApp per follower.
        this.appendPending = true;
        return;
      }
      case MessageType.MsgReadIndex: {
        if (this.prs.isSingleton()) {
          this.respondToReadIndex(m, this.log.committed);
          return;
        }
        // Our commit index may lag the true one until we commit an entry of our own term.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.startReadIndex(m);
        return;
      }
    }

    const pr = this.prs.progress.get(m.from);
    if (pr === undefined) {
      this.logger.debug(`${this.id} no progress available for ${m.from}`);
      return;
    }
    switch (m.type) {
      case MessageType.MsgAppResp: {
        pr.recentActive = true;
        if (m.reject) {
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) {
            // The follower told us the term at its hint; skip every entry of ours with a larger
            // term in one go (they cannot match).
            nextProbeIdx = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
          }
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === 'Replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
        } else {
          const oldPaused = pr.isPaused();
          if (pr.maybeUpdate(m.index)) {
            if (pr.state === 'Probe') pr.becomeReplicate();
            else if (pr.state === 'Snapshot' && pr.match >= pr.pendingSnapshot) {
              pr.becomeProbe();
              pr.becomeReplicate();
            } else if (pr.state === 'Replicate') pr.inflights.freeLE(m.index);

            if (this.maybeCommit()) {
              this.releasePendingReadIndexMessages();
              this.bcastCommit();
            } else if (oldPaused) {
              this.sendAppend(m.from);
            }
            // Fill the freed window.
            while (this.maybeSendAppend(m.from, false)) {
              /* keep sending */
            }
            if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
              this.logger.info(`${this.id} sent MsgTimeoutNow to ${m.from} after it caught up`);
              this.sendTimeoutNow(m.from);
            }
          }
        }
        return;
      }
      case MessageType.MsgHeartbeatResp: {
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === 'Replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (m.context.byteLength === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined) return;
        let granted = 0;
        for (const id of acks) if (this.prs.voters.has(id)) granted++;
        if (granted < this.prs.quorum()) return;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return;
      }
      case MessageType.MsgSnapStatus:
        if (pr.state !== 'Snapshot') return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for a MsgAppResp or a heartbeat before probing again.
        pr.probeSent = true;
        return;
      case MessageType.MsgUnreachable:
        if (pr.state === 'Replicate') pr.becomeProbe();
        return;
      case MessageType.MsgTransferLeader: {
        if (pr.isLearner) {
          this.logger.debug(`${this.id} is ignoring transfer to learner ${m.from}`);
          return;
        }
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return;
        // The transfer must finish within one election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return;
      }
    }
  }

  private startReadIndex(m: Message): void {
    const ctx = m.entries[0].data;
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeatWithCtx(ctx);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  private respondToReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.entries[0].data });
      return;
    }
    this.send(newMessage(MessageType.MsgReadIndexResp, req.from, { index, entries: req.entries }));
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.state === 'PreCandidate' ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        throw new ErrProposalDropped('no leader');
      case MessageType.MsgReadIndex:
        throw new ErrProposalDropped('no leader');
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const res = this.poll(m.from, m.type, !m.reject);
        if (res === 'Won') {
          if (this.state === 'PreCandidate') this.campaign('Election');
          else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === 'Lost') {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      case MessageType.MsgTimeoutNow:
        this.logger.debug(`${this.id} ignored MsgTimeoutNow from ${m.from}: not a follower`);
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === NONE) throw new ErrProposalDropped('no leader');
        m.to = this.lead;
        this.send(m);
        return;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.MsgTransferLeader:
        if (this.lead === NONE) {
          this.logger.info(`${this.id} no leader at term ${this.term}; dropping leader transfer msg`);
          return;
        }
        m.to = this.lead;
        m.term = 0;
        this.send(m);
        return;
      case MessageType.MsgTimeoutNow:
        if (this.promotable()) {
          this.logger.info(`${this.id} received MsgTimeoutNow from ${m.from} and starts an election to get leadership`);
          // Skips pre-vote: the leader asked for it, and the transfer context bypasses stickiness.
          this.hup('Transfer');
        }
        return;
      case MessageType.MsgReadIndex:
        if (this.lead === NONE) throw new ErrProposalDropped('no leader');
        m.to = this.lead;
        this.send(m);
        return;
      case MessageType.MsgReadIndexResp:
        if (m.entries.length !== 1) {
          this.logger.warn(`${this.id} invalid format of MsgReadIndexResp from ${m.from}`);
          return;
        }
        this.readStates.push({ index: m.index, requestCtx: m.entries[0].data });
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(newMessage(MessageType.MsgAppResp, m.from, { index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      // (a commit-only MsgApp that fits needs no answer: see bcastCommit)
      if (!m.commitOnly) this.send(newMessage(MessageType.MsgAppResp, m.from, { index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index <= m.index whose term is <= m.logTerm. The leader
    // then continues from there, skipping a whole conflicting term per round trip.
    let hintIndex = Math.min(m.index, this.log.lastIndex());
    hintIndex = this.log.findConflictByTerm(hintIndex, m.logTerm);
    const hintTerm = this.log.termOrZero(hintIndex);
    this.send(newMessage(MessageType.MsgAppResp, m.from, { index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send(newMessage(MessageType.MsgHeartbeatResp, m.from, { context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) {
      this.logger.info(`${this.id} restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
      this.send(newMessage(MessageType.MsgAppResp, m.from, { index: this.log.lastIndex() }));
    } else {
      this.send(newMessage(MessageType.MsgAppResp, m.from, { index: this.log.committed }));
    }
  }

  /** Installs a snapshot from the leader. Returns false when it is stale or already covered. */
  private restore(s: { metadata: { index: number; term: number; confState: ConfState }; data: Uint8Array }): boolean {
    if (s.metadata.index <= this.log.committed) return false;
    if (this.state !== 'Follower') {
      // Defensive (cannot happen: callers become follower first).
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) {
      this.logger.warn(`${this.id} attempted to restore snapshot but it is not in the ConfState`);
      return false;
    }
    if (this.log.matchTerm(s.metadata.index, s.metadata.term)) {
      // We have the entry: just fast-forward the commit index.
      this.log.commitTo(s.metadata.index);
      return false;
    }
    this.log.restore(s);
    this.restoreConfState(cs);
    const self = this.prs.progress.get(this.id);
    if (self) self.maybeUpdate(self.next - 1);
    return true;
  }

  // ---------------------------------------------------------------- membership

  /**
   * Applies a committed conf change to the tracker (called by the application when it applies
   * the entry). Returns the new ConfState.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const id = cc.nodeId;
    if (id !== NONE) {
      switch (cc.type) {
        case ConfChangeType.AddNode:
          this.addNode(id, false);
          break;
        case ConfChangeType.AddLearnerNode:
          this.addNode(id, true);
          break;
        case ConfChangeType.RemoveNode:
          this.removeNode(id);
          break;
        case ConfChangeType.UpdateNode:
          break;
      }
    }
    return this.confState();
  }

  private addNode(id: NodeId, asLearner: boolean): void {
    let pr = this.prs.progress.get(id);
    if (pr === undefined) {
      pr = new Progress(this.log.lastIndex() + 1, this.prs.maxInflight, asLearner);
      this.prs.progress.set(id, pr);
      if (asLearner) this.prs.learners.add(id);
      else this.prs.voters.add(id);
    } else {
      // Only learner -> voter is allowed; voter -> learner and repeats are ignored.
      if (asLearner || !pr.isLearner) return;
      pr.isLearner = false;
      this.prs.learners.delete(id);
      this.prs.voters.add(id);
    }
    if (id === this.id) this.isLearner = asLearner;
    // Treat the new node as active so check-quorum does not step down right away.
    pr.recentActive = true;
  }

  private removeNode(id: NodeId): void {
    this.prs.progress.delete(id);
    this.prs.voters.delete(id);
    this.prs.learners.delete(id);
    this.prs.votes.delete(id);
    if (id === this.id && this.state === 'Leader') {
      // A leader that removed itself steps down (etcd's StepDownOnRemoval); the remaining voters
      // elect a new leader after an election timeout. Transfer leadership first to avoid the gap.
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.prs.voters.size === 0 && this.prs.learners.size === 0) return;
    // The quorum shrank: entries may now be committed.
    if (this.state === 'Leader') {
      if (this.maybeCommit()) this.bcastAppend();
      if (this.leadTransferee === id) this.abortLeaderTransfer();
    }
  }
}
