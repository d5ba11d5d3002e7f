// The write-ahead log: raft hard state, entries and snapshot markers appended to preallocated
// segment files, made durable with group commit (saves that arrive during an fsync share the next
// one). See record.ts for the record format and replay.ts for recovery rules.
//
// A little over 500 lines: appending, group commit, segment cutting and release share the
// segment state; the record format and replay live apart.

import { writevSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Entry, HardState } from '@tsetcd/raft';
import { failpoint } from '../failpoint/failpoint.js';
import {
  WalClosedError,
  WalExistsError,
  WalFailedError,
  WalInvalidAppendError,
  WalNotFoundError,
} from './errors.js';
import {
  encodeCrc,
  encodeEntry,
  encodeHardState,
  encodeMetadata,
  encodeSnapshotMarker,
  sealFrame,
} from './record.js';
import { replaySegments, type WalSnapshot } from './replay.js';
import {
  listSegments,
  parseSegmentName,
  removeTmpSegments,
  searchSegment,
  segmentFileName,
  segmentTmpSuffix,
  syncDir,
  type SegmentName,
} from './segment-file.js';

export type { WalSnapshot } from './replay.js';

export const walSegmentDefaultBytes = 64 * 1024 * 1024;
/** Smallest segment size accepted (tests use small segments to force rotation). */
export const walSegmentMinBytes = 4 * 1024;

export interface WalOptions {
  /** Preallocated size of each segment; a segment is cut once its data reaches it. Default 64 MiB. */
  segmentBytes?: number;
  /** open(): replay entries after this snapshot; a matching marker must exist when index > 0. */
  fromSnapshot?: WalSnapshot;
  /** Receives a warning when open() repairs a torn tail. */
  onWarning?: (message: string) => void;
}

export interface WalOpenResult {
  wal: Wal;
  metadata: Buffer;
  hardState: HardState;
  /** Entries after opts.fromSnapshot.index, consecutive, as the last writes left them. */
  entries: Entry[];
  /** Newest snapshot marker read whose index is <= hardState.commit. */
  snapshot?: WalSnapshot;
  /** Set when a torn tail of the last segment was cut off. */
  repaired?: { file: string; offset: number; detail: string };
}

export interface WalStats {
  /** save()/saveSnapshotMarker() calls accepted. */
  saves: number;
  /** writev calls. */
  writes: number;
  /** fdatasync calls on segment data (group commits). */
  syncs: number;
  bytesWritten: number;
  segmentsCut: number;
}

interface PendingSave {
  frames: Buffer[];
  sync: boolean;
  /** Index of the last entry in this save (the log's new tail), if any. */
  tailIndex: number | undefined;
  hardState: HardState | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
}

function checkSegmentBytes(n: number): number {
  if (!Number.isSafeInteger(n) || n < walSegmentMinBytes) {
    throw new RangeError(`wal: segmentBytes must be an integer >= ${walSegmentMinBytes}, got ${n}`);
  }
  return n;
}

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new WalInvalidAppendError(`wal: ${what} must be a non-negative safe integer, got ${n}`);
}

/** Writes a fresh segment (header records first) under a temporary name, syncs it, renames it in place. */
async function createSegment(
  dir: string,
  name: string,
  segmentBytes: number,
  frames: Buffer[],
  chain: number,
): Promise<{ fh: FileHandle; offset: number; chain: number }> {
  const tmp = join(dir, name + segmentTmpSuffix);
  const fh = await open(tmp, 'wx');
  try {
    let offset = 0;
    for (const f of frames) {
      chain = sealFrame(f, chain);
      offset += f.length;
    }
    await fh.truncate(segmentBytes); // preallocate (sparse where the filesystem allows)
    await writeFully(fh, frames, 0);
    await fh.datasync();
    await rename(tmp, join(dir, name));
    await syncDir(dir);
    return { fh, offset, chain };
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/** writev until every byte landed (writev may write less than asked). Returns writev calls made. */
async function writeFully(fh: FileHandle, frames: Buffer[], position: number): Promise<number> {
  let calls = 0;
  for (let rest = unwritten(frames, 0); rest !== undefined; calls++) {
    const { bytesWritten } = await fh.writev(rest, position);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    position += bytesWritten;
    rest = unwritten(rest, bytesWritten);
  }
  return calls;
}

/** The part of `bufs` a writev that wrote `written` bytes left over (undefined: nothing). */
function unwritten(bufs: Buffer[], written: number): Buffer[] | undefined {
  let i = 0;
  while (i < bufs.length && written >= bufs[i].length) written -= bufs[i++].length;
  if (i === bufs.length) return undefined;
  return [bufs[i].subarray(written), ...bufs.slice(i + 1)];
}

/**
 * A pass writing at most this many bytes writes on the event loop (writevSync: a copy into the
 * page cache) instead of in the thread pool: a small append then costs no thread hand-off (a
 * wake-up of a pool thread and, when it is done, of the loop), only the fdatasync does. Larger
 * passes go to the pool so that the loop is never held by a big copy.
 */
export const walInlineWriteMaxBytes = 256 * 1024;

/** writeFully on the event loop. */
function writeFullySync(fd: number, frames: Buffer[], position: number): number {
  let calls = 0;
  for (let rest = unwritten(frames, 0); rest !== undefined; calls++) {
    const bytesWritten = writevSync(fd, rest, position);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    position += bytesWritten;
    rest = unwritten(rest, bytesWritten);
  }
  return calls;
}

export class Wal {
  readonly dir: string;
  readonly stats: WalStats = { saves: 0, writes: 0, syncs: 0, bytesWritten: 0, segmentsCut: 0 };
  private readonly metadata: Buffer;
  private readonly segmentBytes: number;
  private segments: SegmentName[];
  private fh: FileHandle;
  private offset: number;
  private chain: number;
  private readonly queue: PendingSave[] = [];
  private loop: Promise<void> | undefined;
  private failure: WalFailedError | undefined;
  private closed = false;
  private unsynced = false;
  /** etcd --unsafe-no-fsync: writes reach the page cache only (throw-away members, tests). */
  private noFsync = false;
  // Accepted by save() (may still be queued): used to validate new appends.
  private acceptedTailIndex: number;
  private acceptedMarkerIndex: number;
  // Written to the current segment: used for the header of the next segment.
  private writtenTailIndex: number;
  private writtenHardState: HardState;

  private constructor(args: {
    dir: string;
    metadata: Buffer;
    segmentBytes: number;
    segments: SegmentName[];
    fh: FileHandle;
    offset: number;
    chain: number;
    tailIndex: number;
    markerIndex: number;
    hardState: HardState;
  }) {
    this.dir = args.dir;
    this.metadata = args.metadata;
    this.segmentBytes = args.segmentBytes;
    this.segments = args.segments;
    this.fh = args.fh;
    this.offset = args.offset;
    this.chain = args.chain;
    this.acceptedTailIndex = args.tailIndex;
    this.acceptedMarkerIndex = args.markerIndex;
    this.writtenTailIndex = args.tailIndex;
    this.writtenHardState = args.hardState;
  }

  /**
   * etcd's SetUnsafeNoFsync (--unsafe-no-fsync): saves stop calling fdatasync, so a machine crash
   * can lose acknowledged writes. For members whose data may be thrown away (tests).
   */
  setUnsafeNoFsync(): void {
    this.noFsync = true;
  }

  /** True when dir holds at least one segment file. */
  static async exists(dir: string): Promise<boolean> {
    try {
      return (await readdir(dir)).some((n) => parseSegmentName(n) !== undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Starts a new log in dir (created if missing; must not already hold segments). */
  static async create(dir: string, metadata: Uint8Array, opts: WalOptions = {}): Promise<Wal> {
    const segmentBytes = checkSegmentBytes(opts.segmentBytes ?? walSegmentDefaultBytes);
    await mkdir(dir, { recursive: true });
    if (await Wal.exists(dir)) throw new WalExistsError(dir);
    await removeTmpSegments(dir);
    const meta = Buffer.from(metadata);
    const name = segmentFileName(0n, 0);
    const seg = await createSegment(dir, name, segmentBytes, [encodeCrc(0), encodeMetadata(meta), encodeSnapshotMarker(0, 0)], 0); // etcd starts every log with a zero snapshot marker
    await syncDir(dirname(dir));
    return new Wal({
      dir,
      metadata: meta,
      segmentBytes,
      segments: [{ seq: 0n, index: 0, name }],
      fh: seg.fh,
      offset: seg.offset,
      chain: seg.chain,
      tailIndex: 0,
      markerIndex: 0,
      hardState: { term: 0, vote: 0n, commit: 0 },
    });
  }

  /**
   * Opens an existing log for appending and replays it. A torn tail of the last segment (crash
   * mid-write) is cut off; any other damage throws a WalError naming the file and byte offset.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<WalOpenResult> {
    const segmentBytes = checkSegmentBytes(opts.segmentBytes ?? walSegmentDefaultBytes);
    const fromSnapshot = opts.fromSnapshot ?? { index: 0, term: 0 };
    checkCount('fromSnapshot.index', fromSnapshot.index);
    checkCount('fromSnapshot.term', fromSnapshot.term);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new WalNotFoundError(dir);
      throw err;
    }
    if (names.some((n) => n.endsWith('.wal' + segmentTmpSuffix))) await removeTmpSegments(dir);
    const segments = await listSegments(dir);
    if (segments.length === 0) throw new WalNotFoundError(dir);
    const start = searchSegment(segments, fromSnapshot.index);
    const r = await replaySegments(dir, segments.slice(start), { fromSnapshot });
    const last = segments[segments.length - 1];
    const lastPath = join(dir, last.name);
    const fh = await open(lastPath, 'r+');
    let repaired: WalOpenResult['repaired'];
    try {
      if (r.torn) {
        // Cut the torn record off and zero everything after it again.
        await fh.truncate(r.tailOffset);
        await fh.truncate(Math.max(segmentBytes, r.tailOffset));
        await fh.sync();
        repaired = { file: lastPath, offset: r.tailOffset, detail: r.tornDetail ?? 'torn record' };
        opts.onWarning?.(`wal: repaired torn tail of ${lastPath}: ${repaired.detail}`);
      }
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    let snapshot: WalSnapshot | undefined;
    for (const m of r.snapshots) {
      if (m.index <= r.hardState.commit && (snapshot === undefined || m.index >= snapshot.index)) snapshot = m;
    }
    const wal = new Wal({
      dir,
      metadata: r.metadata,
      segmentBytes,
      segments,
      fh,
      offset: r.tailOffset,
      chain: r.chain,
      tailIndex: r.tailIndex,
      markerIndex: r.markerIndex,
      hardState: r.hardState,
    });
    return { wal, metadata: r.metadata, hardState: r.hardState, entries: r.entries, snapshot, repaired };
  }

  /**
   * Snapshot markers in the log whose index is <= the last saved commit (etcd's
   * ValidSnapshotEntries): the snapshots a restarting member may load. Read-only; tolerates a torn tail.
   */
  static async validSnapshotMarkers(dir: string): Promise<WalSnapshot[]> {
    const segments = await listSegments(dir);
    if (segments.length === 0) throw new WalNotFoundError(dir);
    const r = await replaySegments(dir, segments, {
      fromSnapshot: { index: 0, term: 0 },
      collectEntries: false,
      requireSnapshotMarker: false,
    });
    return r.snapshots.filter((m) => m.index <= r.hardState.commit);
  }

  /**
   * Appends entries (an index <= the current last index rewrites the log from there) and then the
   * hard state. With sync, resolves once an fdatasync covering these records has returned;
   * without, once they are written to the file.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[], sync: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new WalClosedError());
    const frames: Buffer[] = [];
    let tailIndex: number | undefined;
    try {
      if (entries.length > 0) {
        const first = entries[0].index;
        checkCount('entry index', first);
        const limit = Math.max(this.acceptedTailIndex, this.acceptedMarkerIndex) + 1;
        if (first < 1 || first > limit) {
          throw new WalInvalidAppendError(`wal: entry index ${first} does not follow the log (next index ${limit})`);
        }
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i];
          if (e.index !== first + i) {
            throw new WalInvalidAppendError(`wal: entries not consecutive: index ${e.index} at position ${i} after ${first}`);
          }
          checkCount('entry term', e.term);
          frames.push(encodeEntry(e.index, e.term, e.type, e.data));
        }
        tailIndex = entries[entries.length - 1].index;
      }
      if (hardState !== undefined) {
        checkCount('hardState.term', hardState.term);
        checkCount('hardState.commit', hardState.commit);
        if (hardState.vote < 0n || hardState.vote >= 1n << 64n) throw new WalInvalidAppendError('wal: hardState.vote out of uint64 range');
        frames.push(encodeHardState(hardState.term, hardState.vote, hardState.commit));
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (tailIndex !== undefined) this.acceptedTailIndex = tailIndex;
    return this.enqueue(frames, sync, tailIndex, hardState);
  }

  /** Records that a snapshot at {index, term} was saved; always synced. */
  saveSnapshotMarker(s: WalSnapshot): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new WalClosedError());
    try {
      checkCount('snapshot index', s.index);
      checkCount('snapshot term', s.term);
    } catch (err) {
      return Promise.reject(err);
    }
    if (s.index > this.acceptedMarkerIndex) this.acceptedMarkerIndex = s.index;
    return this.enqueue([encodeSnapshotMarker(s.index, s.term)], true, undefined, undefined);
  }

  /** Resolves once everything saved so far is durable. */
  sync(): Promise<void> {
    return this.save(undefined, [], true);
  }

  /**
   * Releases segments that hold only records before `index` (call with the index of a snapshot
   * whose marker is durable): they are no longer needed to replay the log. Without `maxFiles`
   * they are deleted at once; with it, purge(maxFiles) runs (etcd --max-wals: released files are
   * deleted only while the log has more than maxFiles segments; 0 keeps them all). Returns the
   * deleted file names, for the caller to log as the purge job does.
   */
  async releaseTo(index: number, maxFiles?: number): Promise<string[]> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new WalClosedError();
    checkCount('release index', index);
    if (index > this.releasedIndex) this.releasedIndex = index;
    return this.purge(maxFiles);
  }

  /**
   * Deletes released segments, oldest first, while more than `maxFiles` segments remain
   * (undefined: every released segment; 0: none). Returns the deleted file names.
   */
  purge(maxFiles?: number): Promise<string[]> {
    // one purge at a time (the snapshot's release and the periodic job may overlap)
    const run = this.purgeChain.then(() => this.purgeNow(maxFiles));
    this.purgeChain = run.then(() => undefined, () => undefined);
    return run;
  }

  private purgeChain: Promise<void> = Promise.resolve();

  private async purgeNow(maxFiles?: number): Promise<string[]> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new WalClosedError();
    if (maxFiles === 0) return [];
    const releasable = searchSegment(this.segments, this.releasedIndex);
    const excess = maxFiles === undefined ? releasable : Math.min(releasable, this.segments.length - maxFiles);
    if (excess <= 0) return [];
    const drop = this.segments.slice(0, excess);
    for (const s of drop) await rm(join(this.dir, s.name), { force: true });
    this.segments.splice(0, drop.length);
    await syncDir(this.dir);
    return drop.map((s) => s.name);
  }

  /** records before this index are covered by a durable snapshot (releaseTo) */
  private releasedIndex = 0;

  /** Segment file names currently part of the log, oldest first. */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /** Waits for queued saves, syncs what is unsynced, and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) {
      while (this.loop) await this.loop;
      return;
    }
    this.closed = true;
    while (this.loop) await this.loop;
    if (this.failure) {
      await this.fh.close().catch(() => {}); // may already be closed by a failed cut
      return;
    }
    try {
      if (this.unsynced) await this.fh.datasync();
    } finally {
      await this.fh.close();
    }
  }

  private enqueue(frames: Buffer[], sync: boolean, tailIndex: number | undefined, hardState: HardState | undefined): Promise<void> {
    this.stats.saves++;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, sync, tailIndex, hardState, resolve, reject });
      if (this.loop === undefined) this.loop = this.runLoop();
    });
  }

  /** Drains the queue: each pass writes everything queued with one writev and at most one fdatasync. */
  private async runLoop(): Promise<void> {
    let batch: PendingSave[] = [];
    // Yield first: saves issued in the same tick join the first batch, and this.loop is assigned
    // before the finally below clears it even when a pass never awaits.
    await null;
    try {
      while (this.queue.length > 0) {
        batch = this.queue.splice(0, this.queue.length);
        const frames: Buffer[] = [];
        let bytes = 0;
        let needSync = false;
        for (const item of batch) {
          for (const f of item.frames) {
            this.chain = sealFrame(f, this.chain);
            frames.push(f);
            bytes += f.length;
          }
          if (item.sync) needSync = true;
        }
        if (bytes > 0) {
          failpoint('walBeforeWrite');
          this.stats.writes += bytes <= walInlineWriteMaxBytes ? writeFullySync(this.fh.fd, frames, this.offset) : await writeFully(this.fh, frames, this.offset);
          this.offset += bytes;
          this.stats.bytesWritten += bytes;
          this.unsynced = true;
          failpoint('walAfterWrite');
        }
        for (const item of batch) {
          if (item.tailIndex !== undefined) this.writtenTailIndex = item.tailIndex;
          if (item.hardState !== undefined) this.writtenHardState = item.hardState;
        }
        if (needSync && this.unsynced && !this.noFsync) {
          failpoint('walBeforeSync');
          await this.fh.datasync();
          this.stats.syncs++;
          this.unsynced = false;
          failpoint('walAfterSync');
        }
        for (const item of batch) item.resolve();
        batch = [];
        if (this.offset >= this.segmentBytes) await this.cut();
      }
    } catch (err) {
      this.failure = err instanceof WalFailedError ? err : new WalFailedError(err);
      for (const item of batch) item.reject(this.failure);
      for (const item of this.queue.splice(0, this.queue.length)) item.reject(this.failure);
    } finally {
      this.loop = undefined;
    }
  }

  /** Closes the full segment (trimmed to its data) and starts the next one with standalone headers. */
  private async cut(): Promise<void> {
    failpoint('walBeforeCut');
    await this.fh.truncate(this.offset);
    if (!this.noFsync) await this.fh.sync();
    this.unsynced = false;
    await this.fh.close();
    const last = this.segments[this.segments.length - 1];
    const seq = last.seq + 1n;
    const index = this.writtenTailIndex + 1;
    const name = segmentFileName(seq, index);
    const hs = this.writtenHardState;
    const seg = await createSegment(
      this.dir,
      name,
      this.segmentBytes,
      [encodeCrc(this.chain), encodeMetadata(this.metadata), encodeHardState(hs.term, hs.vote, hs.commit)],
      this.chain,
    );
    this.fh = seg.fh;
    this.offset = seg.offset;
    this.chain = seg.chain;
    this.segments.push({ seq, index, name });
    this.stats.segmentsCut++;
    failpoint('walAfterCut');
  }
}
