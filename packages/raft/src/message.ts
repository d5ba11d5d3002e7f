// Raft messages exchanged between peers (and a few local-only ones the node steps into itself).
// The numeric values follow etcd's raftpb.MessageType so logs and traces read the same.
import type { Entry, NodeId, Snapshot, HardState } from './types.js';

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export const MESSAGE_TYPE_COUNT = 19;

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** term of the entry at `index` (MsgApp), of the candidate's last entry (votes), or the rejection hint's term */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: number;
  context: Uint8Array;
  /**
   * A MsgApp that only carries a new commit index (no entries) to a follower the leader
   * replicates to (Replicate state): the follower answers it only when it rejects it (not in
   * etcd's raft; see Raft.bcastCommit).
   */
  commitOnly: boolean;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Builds a message with every field defaulted, so all messages share one object shape. */
export function newMessage(type: MessageType, to: NodeId, fields?: Partial<Message>): Message {
  const m: Message = {
    type,
    from: 0n,
    to,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: NO_ENTRIES,
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    commitOnly: false,
  };
  if (fields !== undefined) Object.assign(m, fields);
  return m;
}

/** Shared empty array: never push to it. */
export const NO_ENTRIES: Entry[] = Object.freeze([]) as unknown as Entry[];

export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

export function voteResponseType(t: MessageType): MessageType {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new Error(`not a vote message: ${MessageType[t]}`);
}

export type StateType = 'Follower' | 'PreCandidate' | 'Candidate' | 'Leader';

export interface SoftState {
  lead: NodeId;
  state: StateType;
}

/** Answer to a ReadIndex request: reads are linearizable once the local applied index reaches `index`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0n && hs.commit === 0;
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** Bytes an entry occupies in our wire codec; used for the per-message byte limit. */
export function entryEncodedSize(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.byteLength;
}
/** term (8) + index (8) + type (1) + data length (4) */
export const ENTRY_HEADER_BYTES = 21;
