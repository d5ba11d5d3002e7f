// RawNode: the application-facing, single-threaded wrapper around Raft (etcd's RawNode shape).
//
// The application loop:
//   1. feed inputs: tick() on a timer, step() for messages from peers, propose()/readIndex()/...
//   2. if hasReady(): rd = ready()
//      a. persist rd.hardState, rd.entries, rd.snapshot (fsync if rd.mustSync)
//      b. send rd.messages (only after a. — they may promise what was persisted)
//      c. apply rd.snapshot, then rd.committedEntries in order (applyConfChange for conf changes)
//      d. advance(rd)
//
// Pipelined (Config.asyncStorageWrites, etcd-raft's AsyncStorageWrites): the writes of a Ready
// may still be in flight when advance(rd) is called and the next Ready is taken, so that they
// share one fsync. The contract:
//   - put rd.entries / rd.hardState / rd.snapshot into the Storage before advance(rd), and make
//     them durable in Ready order;
//   - rd.messages may be sent at once; rd.messagesAfterWrite only once rd's writes are durable
//     (they answer for them: append and vote responses, vote requests);
//   - call persisted(rd) once rd's writes are durable: a leader counts its own log towards the
//     commit quorum only from then on, so nothing commits on the strength of a write a crash
//     could lose, and a follower never answers for an entry before it is durable;
//   - rd.committedEntries are committed on a quorum of durable logs; apply them after rd's
//     writes are durable if the state machine must never be ahead of the local log.
import type { ConfChange, ConfState, Entry, HardState, NodeId, Snapshot } from './types.js';
import { EntryType, NONE } from './types.js';
import {
  MessageType,
  isLocalMessage,
  isResponseMessage,
  newMessage,
  type Message,
  type ReadState,
  type SoftState,
  type StateType,
} from './message.js';
import { Raft, type Config } from './raft.js';
import type { ProgressStateType } from './progress.js';
import { decodeConfChange, encodeConfChange } from './codec.js';
import { ErrInvalidConfig, ErrProposalDropped, ErrStepLocalMsg, assert } from './errors.js';

export interface Ready {
  /** set when lead or state changed since the previous Ready */
  softState?: SoftState;
  /** set when term, vote or commit changed; persist before sending messages */
  hardState?: HardState;
  /** entries to persist (append; may overwrite a suffix of what was persisted) */
  entries: Entry[];
  /** snapshot to persist and apply (follower catching up) */
  snapshot?: Snapshot;
  /** committed entries to apply, in order */
  committedEntries: Entry[];
  /** messages to send once entries/hardState are persisted (with asyncStorageWrites: at once) */
  messages: Message[];
  /** asyncStorageWrites only: messages to send once this Ready's writes are durable */
  messagesAfterWrite: Message[];
  readStates: ReadState[];
  /** hardState term/vote changed or entries were added: fsync before sending */
  mustSync: boolean;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressStateType;
  isLearner: boolean;
  recentActive: boolean;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lead: NodeId;
  state: StateType;
  leadTransferee: NodeId;
  /** only on the leader */
  progress?: Map<NodeId, ProgressStatus>;
  confState: ConfState;
}

export class RawNode {
  /** the state machine; exposed read-only for tests and diagnostics */
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;

  constructor(config: Config) {
    // Read before Raft loads initialState(), so both see the same snapshot.
    const snapIndex = config.storage.snapshot().metadata.index;
    this.raft = new Raft(config);
    // Default: the application restarts from the storage's snapshot and re-applies what follows.
    const applied = config.applied || snapIndex; // 0 = not set
    if (applied < snapIndex) throw new ErrInvalidConfig(`applied(${applied}) is older than the storage snapshot (${snapIndex}); restore the snapshot first`);
    replayAppliedConfChanges(this.raft, snapIndex, applied);
    this.prevSoft = { lead: this.raft.lead, state: this.raft.state };
    this.prevHard = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(newMessage(MessageType.MsgHup, NONE, { from: this.raft.id }));
  }

  /** Proposes data to be appended to the log. Throws ErrProposalDropped if it cannot be accepted here. */
  propose(data: Uint8Array): void {
    this.raft.step(
      newMessage(MessageType.MsgProp, NONE, { from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }),
    );
  }

  /** Proposes many entries in one message (cheaper than a loop over propose()). */
  proposeBatch(datas: Uint8Array[]): void {
    if (datas.length === 0) return;
    const entries: Entry[] = new Array(datas.length);
    for (let i = 0; i < datas.length; i++) entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: datas[i] };
    this.raft.step(newMessage(MessageType.MsgProp, NONE, { from: this.raft.id, entries }));
  }

  /** Proposes a membership change; it takes effect when the application applies it (applyConfChange). */
  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step(
      newMessage(MessageType.MsgProp, NONE, { from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }] }),
    );
  }

  /**
   * Requests a linearizable read point. The answer arrives in a later Ready.readStates with the
   * same ctx (make it unique); serve the read once applied >= readState.index. Throws
   * ErrProposalDropped when no leader is known. A request lost in the network is never answered:
   * callers need a timeout.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(
      newMessage(MessageType.MsgReadIndex, NONE, { from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: ctx }] }),
    );
  }

  /** Asks the leader to hand leadership to `to` (it must be a caught-up voter). */
  transferLeader(to: NodeId): void {
    this.raft.step(newMessage(MessageType.MsgTransferLeader, NONE, { from: to }));
  }

  /**
   * Steps a message received from a peer. Throws ErrStepLocalMsg for local-only types. Responses
   * from peers not in the configuration are ignored; remote proposals that cannot be accepted are
   * dropped silently (their originator times out).
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new ErrStepLocalMsg();
    if (isResponseMessage(m.type) && !this.raft.prs.progress.has(m.from)) {
      this.raft.logger.debug(`${this.raft.id} ignoring ${MessageType[m.type]} from unknown peer ${m.from}`);
      return;
    }
    try {
      this.raft.step(m);
    } catch (e) {
      if (e instanceof ErrProposalDropped) return;
      throw e;
    }
  }

  /** Applies a committed conf change; returns the resulting configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  hasReady(): boolean {
    const r = this.raft;
    r.flushPendingAppends();
    if (r.lead !== this.prevSoft.lead || r.state !== this.prevSoft.state) return true;
    if (r.term !== this.prevHard.term || r.vote !== this.prevHard.vote || r.log.committed !== this.prevHard.commit) return true;
    if (r.log.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterWrite.length > 0 || r.log.unstable.entries.length > 0 || r.log.hasNextEnts()) return true;
    if (r.readStates.length > 0) return true;
    return false;
  }

  /**
   * Returns what the application must persist, send and apply. Must be followed by advance(rd)
   * before the next ready(). Calling ready() accepts the messages and read states.
   */
  ready(): Ready {
    const r = this.raft;
    r.flushPendingAppends();
    const entries = r.log.unstableEntries();
    const rd: Ready = {
      entries: entries.length > 0 ? entries.slice() : [],
      committedEntries: r.log.nextEnts(),
      messages: r.msgs,
      messagesAfterWrite: r.msgsAfterWrite,
      readStates: r.readStates,
      mustSync: false,
    };
    if (r.lead !== this.prevSoft.lead || r.state !== this.prevSoft.state) {
      rd.softState = { lead: r.lead, state: r.state };
      this.prevSoft = rd.softState;
    }
    const term = r.term;
    const vote = r.vote;
    const commit = r.log.committed;
    if (term !== this.prevHard.term || vote !== this.prevHard.vote || commit !== this.prevHard.commit) {
      rd.hardState = { term, vote, commit };
    }
    if (r.log.hasPendingSnapshot()) rd.snapshot = r.log.unstable.snapshot;
    rd.mustSync = rd.entries.length > 0 || term !== this.prevHard.term || vote !== this.prevHard.vote;
    r.msgs = [];
    r.msgsAfterWrite = [];
    r.readStates = [];
    return rd;
  }

  /** Tells raft the Ready was persisted and applied. */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.hardState) this.prevHard = rd.hardState;
    r.reduceUncommittedSize(rd.committedEntries);
    let applied = 0;
    if (rd.committedEntries.length > 0) applied = rd.committedEntries[rd.committedEntries.length - 1].index;
    else if (rd.snapshot && rd.snapshot.metadata.index > 0) applied = rd.snapshot.metadata.index;
    if (applied > 0) r.log.appliedTo(applied);
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1];
      r.log.stableTo(e.index, e.term);
    }
    if (rd.snapshot) r.log.stableSnapTo(rd.snapshot.metadata.index);
  }

  /**
   * asyncStorageWrites: the writes of `rd` (and of every Ready before it) are durable. A leader
   * acknowledges its own entries from here (the commit index may move: check hasReady()).
   */
  persisted(rd: Ready): void {
    if (rd.entries.length === 0) return;
    const last = rd.entries[rd.entries.length - 1];
    this.raft.selfPersisted(last.index, last.term);
  }

  status(): Status {
    const r = this.raft;
    const s: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      state: r.state,
      leadTransferee: r.leadTransferee,
      confState: r.confState(),
    };
    if (r.state === 'Leader') {
      s.progress = new Map();
      for (const [id, pr] of r.prs.progress) {
        s.progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive });
      }
    }
    return s;
  }

  /** The transport could not reach `id`: stop optimistic replication to it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage(MessageType.MsgUnreachable, NONE, { from: id }));
  }

  /** Outcome of sending a snapshot to `id` (failure makes the leader retry later). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(newMessage(MessageType.MsgSnapStatus, NONE, { from: id, reject: !ok }));
  }
}

/**
 * Membership at startup = the snapshot's ConfState + conf changes in (snapshot, applied]: those
 * the application will not be handed again.
 */
function replayAppliedConfChanges(r: Raft, snapIndex: number, applied: number): void {
  if (applied <= r.log.applied) return;
  assert(applied <= r.log.committed, `applied(${applied}) is beyond committed(${r.log.committed})`);
  const from = Math.max(snapIndex + 1, r.log.firstIndex());
  if (applied >= from) {
    const ents = r.log.slice(from, applied + 1, Number.MAX_SAFE_INTEGER);
    for (const e of ents) if (e.type === EntryType.ConfChange) r.applyConfChange(decodeConfChange(e.data));
  }
  r.log.appliedTo(applied);
}
