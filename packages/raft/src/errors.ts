// Every error raft throws at its caller. Each class has a stable `code`; messages match etcd's
// raft package where etcd has an equivalent error.

export class RaftError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The proposal (or read-index request) was dropped: no known leader, leadership transfer in progress, or too much uncommitted data. */
export class ErrProposalDropped extends RaftError {
  constructor(reason?: string) {
    super('ProposalDropped', reason ? `raft proposal dropped: ${reason}` : 'raft proposal dropped');
  }
}

/** The requested index is older than the storage's first index (it was compacted away). */
export class ErrCompacted extends RaftError {
  constructor() {
    super('Compacted', 'requested index is unavailable due to compaction');
  }
}

/** The requested snapshot is older than the one already stored. */
export class ErrSnapOutOfDate extends RaftError {
  constructor() {
    super('SnapOutOfDate', 'requested index is older than the existing snapshot');
  }
}

/** The requested entry is beyond the stored log. */
export class ErrUnavailable extends RaftError {
  constructor() {
    super('Unavailable', 'requested entry at index is unavailable');
  }
}

/** Storage cannot produce a snapshot right now; raft will retry later. */
export class ErrSnapshotTemporarilyUnavailable extends RaftError {
  constructor() {
    super('SnapshotTemporarilyUnavailable', 'snapshot is temporarily unavailable');
  }
}

/** A local-only message type (MsgHup, MsgBeat, ...) was passed to RawNode.step. */
export class ErrStepLocalMsg extends RaftError {
  constructor() {
    super('StepLocalMsg', 'raft: cannot step raft local message');
  }
}

/** Misconfiguration (bad Config or an `applied` older than the storage snapshot). */
export class ErrInvalidConfig extends RaftError {
  constructor(message: string) {
    super('InvalidConfig', message);
  }
}

/** Malformed bytes given to one of the codec's decode functions. */
export class ErrDecode extends RaftError {
  constructor(message: string) {
    super('Decode', `raft codec: ${message}`);
  }
}

/** Broken invariant: a bug in raft or in the caller's use of the Ready protocol. */
export class ErrInvariant extends RaftError {
  constructor(message: string) {
    super('Invariant', `raft invariant violated: ${message}`);
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new ErrInvariant(message);
}
