// Errors raised by snapshot files. Every class has a stable `code`.

export class SnapError extends Error {
  readonly code: string = 'SNAP_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A snapshot file failed its checksum or could not be parsed. */
export class SnapCorruptError extends SnapError {
  override readonly code = 'SNAP_CORRUPT';
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`snap: corrupt snapshot file ${file}: ${detail}`);
  }
}

/** The snapshot to save is not representable (bad numbers, index 0). */
export class SnapInvalidError extends SnapError {
  override readonly code = 'SNAP_INVALID';
}
