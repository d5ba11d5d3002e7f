// Errors raised by the write-ahead log. Every class has a stable `code`; corruption errors name
// the segment file and the byte offset of the bad record so an operator can inspect it.

export class WalError extends Error {
  readonly code: string = 'WAL_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** open(): the directory holds no segment files. */
export class WalNotFoundError extends WalError {
  override readonly code = 'WAL_NOT_FOUND';
  constructor(readonly dir: string) {
    super(`wal: no segment files in ${dir}`);
  }
}

/** create(): the directory already holds segment files. */
export class WalExistsError extends WalError {
  override readonly code = 'WAL_EXISTS';
  constructor(readonly dir: string) {
    super(`wal: ${dir} already holds a write-ahead log`);
  }
}

/** A record failed its checksum or framing somewhere other than a repairable torn tail. */
export class WalCorruptError extends WalError {
  override readonly code = 'WAL_CORRUPT';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`wal: corrupt record in ${file} at byte offset ${offset}: ${detail}`);
  }
}

/** The segment sequence numbers are not consecutive (a segment file was lost). */
export class WalMissingSegmentError extends WalError {
  override readonly code = 'WAL_MISSING_SEGMENT';
  constructor(
    readonly file: string,
    readonly expectedSeq: bigint,
  ) {
    super(`wal: segment with sequence ${expectedSeq} missing before ${file} (gap in segment sequence)`);
  }
}

/** An entry's index skips past the next expected one. */
export class WalIndexGapError extends WalError {
  override readonly code = 'WAL_INDEX_GAP';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly expectedIndex: number,
    readonly gotIndex: number,
  ) {
    super(`wal: index gap in ${file} at byte offset ${offset}: expected entry index <= ${expectedIndex}, found ${gotIndex}`);
  }
}

/** Segments disagree about the member metadata written at create(). */
export class WalMetadataConflictError extends WalError {
  override readonly code = 'WAL_METADATA_CONFLICT';
  constructor(
    readonly file: string,
    readonly offset: number,
  ) {
    super(`wal: metadata record in ${file} at byte offset ${offset} conflicts with earlier metadata`);
  }
}

/** open({fromSnapshot}) names a snapshot the log has no marker for. */
export class WalSnapshotNotFoundError extends WalError {
  override readonly code = 'WAL_SNAPSHOT_NOT_FOUND';
  constructor(
    readonly index: number,
    readonly term: number,
  ) {
    super(`wal: no snapshot marker for index ${index} term ${term}`);
  }
}

/** A marker exists for the snapshot index but with another term. */
export class WalSnapshotMismatchError extends WalError {
  override readonly code = 'WAL_SNAPSHOT_MISMATCH';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly index: number,
    readonly wantTerm: number,
    readonly gotTerm: number,
  ) {
    super(`wal: snapshot marker in ${file} at byte offset ${offset} has term ${gotTerm} for index ${index}, expected ${wantTerm}`);
  }
}

/** save() was given entries that cannot follow the log (gap, non-consecutive batch, bad numbers). */
export class WalInvalidAppendError extends WalError {
  override readonly code = 'WAL_INVALID_APPEND';
}

/** The log was closed. */
export class WalClosedError extends WalError {
  override readonly code = 'WAL_CLOSED';
  constructor() {
    super('wal: closed');
  }
}

/**
 * A write or fsync failed. The log refuses all further work: after a failed fsync the kernel may
 * have dropped the dirty pages, so nothing written since the last good sync can be trusted.
 */
export class WalFailedError extends WalError {
  override readonly code = 'WAL_FAILED';
  constructor(cause: unknown) {
    super(`wal: unusable after I/O failure: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
