// The contract between the MVCC key space (mvcc/) and the layers above it (apply/, api/,
// lease/, auth/, watch). Revisions and lease IDs are 64-bit: bigint.

export interface KeyValue {
  key: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Buffer;
  lease: bigint;
}

export enum EventType {
  PUT = 0,
  DELETE = 1,
}

export interface MvccEvent {
  type: EventType;
  /** for DELETE: key set, modRevision = the deleting revision, other fields zero */
  kv: KeyValue;
  /** filled only when the caller asked for previous values */
  prevKv?: KeyValue;
}

export enum SortOrder {
  NONE = 0,
  ASCEND = 1,
  DESCEND = 2,
}

export enum SortTarget {
  KEY = 0,
  VERSION = 1,
  CREATE = 2,
  MOD = 3,
  VALUE = 4,
}

export interface RangeOptions {
  /** empty/undefined: single key; "\0": every key >= key; otherwise [key, rangeEnd) */
  rangeEnd?: Buffer;
  /** 0n/undefined: current revision */
  revision?: bigint;
  /** 0/undefined: no limit */
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  minModRevision?: bigint;
  maxModRevision?: bigint;
  minCreateRevision?: bigint;
  maxCreateRevision?: bigint;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** number of keys in the range at that revision (before limit), as etcd reports it */
  count: number;
  more: boolean;
  /** the store's current revision when the read ran (the response header's revision) */
  revision: bigint;
}

export interface ReadView {
  range(key: Buffer, opts?: RangeOptions): RangeResult;
  /** revision this view reads at */
  revision(): bigint;
}

/**
 * One write transaction = at most one new main revision. Writes get sub revisions 0,1,2...
 * Reads through the txn see its own earlier writes. Synchronous; one open at a time.
 */
export interface WriteTxn extends ReadView {
  /** prev: the replaced value, read only when wantPrev (default true); prevLease: the key's lease before (0: none) */
  put(key: Buffer, value: Buffer, lease: bigint, wantPrev?: boolean): { prev?: KeyValue; prevLease: bigint };
  deleteRange(key: Buffer, rangeEnd?: Buffer): KeyValue[];
  /** ends the txn: if it changed anything the revision advances by one. Events in write order. */
  end(): { revision: bigint; events: MvccEvent[] };
}
