// The storage backend: one LMDB environment per data dir, split into named databases
// ("buckets", as etcd calls them). Writes accumulate in an in-memory batch that reads see
// immediately; the batch is committed in one LMDB transaction on an interval or once it holds
// enough operations, never per request. Everything staged before a commit (KV data, aux
// buckets, the consistent index) lands in the same transaction.
//
// Batch commits run on LMDB's write thread (an async transaction), so the event loop never waits
// for the disk: a committing batch stays readable from memory ("in flight") until LMDB reports it
// committed. commitSync() commits on the event loop; while a batch is in flight it queues behind
// it instead (LMDB commits async transactions in order, a synchronous one could overtake them).
// commitDurable() waits for everything to be committed and flushed (before releasing the WAL).
//
// Long (~600 lines) on purpose: the batch, its in-flight commit and the reads that look through
// both are one piece of state; the bucket API is thin around it.

import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { open, type Database, type DatabaseOptions, type RootDatabase, type Transaction } from 'lmdb';
import { BackendBusyError, BackendClosedError } from './errors.js';
import { failpoint } from '../failpoint/index.js';

/** Buckets known up front; other names are opened on first use. */
export const Buckets = {
  key: 'key',
  meta: 'meta',
  lease: 'lease',
  auth: 'auth',
  authUsers: 'authUsers',
  authRoles: 'authRoles',
  members: 'members',
  membersRemoved: 'members_removed',
  alarm: 'alarm',
  cluster: 'cluster',
} as const;

export const defaultBatchIntervalMs = 100; // etcd --backend-batch-interval
export const defaultBatchLimitOps = 10_000; // etcd --backend-batch-limit
const maxBuckets = 32;
const lmdbDataFile = 'data.mdb';
const metaConsistentIndexKey = Buffer.from('consistent_index', 'latin1');

export interface BackendOptions {
  /** directory holding the LMDB environment (data.mdb, lock.mdb) */
  path: string;
  batchIntervalMs?: number;
  batchLimitOps?: number;
  /** etcd --unsafe-no-fsync: LMDB commits without flushing to disk (throw-away members, tests) */
  unsafeNoFsync?: boolean;
  /** told the duration of each committed batch (etcd's etcd_disk_backend_commit_duration_seconds) */
  onCommit?: (seconds: number) => void;
}

interface PendingWrite {
  key: Buffer;
  /** null: delete */
  value: Buffer | null;
}

type StagedWrites = Map<string, Map<string, PendingWrite>>;

/**
 * A read-only view of the backend at one point in time, for reads spread over many event-loop
 * turns (snapshots): writes made after it opened are not seen. Close it when done (a defragment
 * waits for open views).
 */
/** Decodes a bucket's entries in place (Backend.scanCommitted). */
export interface InPlaceDecoder<K, V> {
  /** the key in b[start, end) */
  readKey(b: Uint8Array, start: number, end: number): K;
  /** the value in b[0, size) */
  readValue(b: Uint8Array, size: number): V;
}

export interface BackendReadView {
  /** names of the buckets present (those with data committed) */
  bucketNames(): string[];
  /** as Backend.range, over the view (bucket: one of bucketNames()) */
  range(bucket: string, start?: Buffer, end?: Buffer, limit?: number): Array<[Buffer, Buffer]>;
  close(): void;
}

function noop(): void {}

/** The promise last given to ignoreOutcome. */
let lastIgnored: Promise<unknown> | undefined;

/**
 * Marks a write's promise as handled. lmdb-js hands every write of a batch the same commit
 * promise: one handler per promise, not one per write (each of those cost a derived promise,
 * and the shared promise held a reaction per write until the commit).
 */
function ignoreOutcome(p: unknown): void {
  if (p instanceof Promise && p !== lastIgnored) {
    lastIgnored = p;
    p.catch(noop);
  }
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`backend invariant violated: ${msg}`);
}

export class Backend {
  readonly path: string;
  readonly batchIntervalMs: number;
  readonly batchLimitOps: number;
  private env: RootDatabase;
  private dbs = new Map<string, Database<Buffer, Buffer>>();
  /** scanCommitted's database handles, by decoder (a handle decodes with one decoder) */
  private decodingDbs = new Map<InPlaceDecoder<unknown, unknown>, unknown>();
  /** bucket -> latin1(key) -> staged write */
  private pending: StagedWrites = new Map();
  /** batches handed to LMDB's write thread, oldest first, until their transaction committed */
  private inflight: StagedWrites[] = [];
  private inflightDone: Promise<void> = Promise.resolve();
  private asyncFailure: Error | undefined;
  private pendingOps = 0;
  private consistentIdx: number;
  private consistentIdxDirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private defragging = false;
  private defragDone: Promise<void> | undefined;
  private commits = 0;
  private holds = 0;
  /** read views open (on the current environment) */
  private views = 0;
  private viewsClosed: (() => void) | undefined;
  /** Bytes of the data file, re-read whenever it can change (commit, bucket creation, defragment). */
  private fileBytes = 0;
  private readonly noFsync: boolean;

  private constructor(opts: BackendOptions) {
    this.path = opts.path;
    this.batchIntervalMs = opts.batchIntervalMs ?? defaultBatchIntervalMs;
    this.batchLimitOps = opts.batchLimitOps ?? defaultBatchLimitOps;
    assert(this.batchIntervalMs > 0 && this.batchLimitOps > 0, 'batch limits must be positive');
    this.noFsync = opts.unsafeNoFsync ?? false;
    this.onCommit = opts.onCommit;
    mkdirSync(this.path, { recursive: true });
    this.env = Backend.openEnv(this.path, this.noFsync);
    const ci = this.db(Buckets.meta).getBinary(metaConsistentIndexKey);
    this.refreshSize();
    this.consistentIdx = ci === undefined ? 0 : Number(ci.readBigUInt64BE(0));
    this.timer = setInterval(() => this.commitAsync(), this.batchIntervalMs);
    this.timer.unref();
  }

  static open(opts: BackendOptions | string): Backend {
    return new Backend(typeof opts === 'string' ? { path: opts } : opts);
  }

  /**
   * Installs a snapshot file (written by copyTo / Maintenance.Snapshot) as the backend of a
   * data dir: `Backend.restoreFrom(file, path)` then `Backend.open(path)`. The target must not
   * be open.
   */
  static restoreFrom(snapshotFile: string, path: string): void {
    mkdirSync(path, { recursive: true });
    rmSync(join(path, 'lock.mdb'), { force: true });
    copyFileSync(snapshotFile, join(path, lmdbDataFile));
  }

  private static openEnv(path: string, noFsync = false): RootDatabase {
    // noSync only with --unsafe-no-fsync: otherwise a commit that returned is on disk.
    return open({ path, maxDbs: maxBuckets, keyEncoding: 'binary', encoding: 'binary', ...(noFsync ? { noSync: true } : {}) }) as RootDatabase;
  }

  private db(bucket: string): Database<Buffer, Buffer> {
    let db = this.dbs.get(bucket);
    if (db === undefined) {
      db = this.env.openDB<Buffer, Buffer>({ name: bucket, keyEncoding: 'binary', encoding: 'binary' });
      this.dbs.set(bucket, db);
      this.refreshSize(); // creating a bucket commits a transaction of its own
    }
    return db;
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendClosedError();
    if (this.asyncFailure !== undefined) throw this.asyncFailure;
  }

  // ---- generic bucket access (used by mvcc for the key bucket, and by the aux API) ----

  put(bucket: string, key: Buffer, value: Buffer): void {
    this.stage(bucket, key, value);
  }

  delete(bucket: string, key: Buffer): void {
    this.stage(bucket, key, null);
  }

  private stage(bucket: string, key: Buffer, value: Buffer | null): void {
    this.checkOpen();
    let m = this.pending.get(bucket);
    if (m === undefined) {
      m = new Map();
      this.pending.set(bucket, m);
    }
    m.set(key.toString('latin1'), { key, value });
    this.pendingOps++;
  }

  get(bucket: string, key: Buffer): Buffer | undefined {
    this.checkOpen();
    const m = this.pending.get(bucket);
    if (m !== undefined && m.size > 0) {
      const p = m.get(key.toString('latin1'));
      if (p !== undefined) return p.value ?? undefined;
    }
    for (let i = this.inflight.length - 1; i >= 0; i--) {
      const f = this.inflight[i].get(bucket);
      if (f === undefined || f.size === 0) continue;
      const p = f.get(key.toString('latin1'));
      if (p !== undefined) return p.value ?? undefined;
    }
    return this.db(bucket).getBinary(key);
  }

  /** Staged writes of a bucket not yet committed: in-flight batches overlaid by the pending one. */
  private stagedOf(bucket: string): Iterable<PendingWrite> | undefined {
    const m = this.pending.get(bucket);
    if (this.inflight.length === 0) return m?.values();
    const merged = new Map<string, PendingWrite>();
    for (const batch of this.inflight) {
      const f = batch.get(bucket);
      if (f !== undefined) for (const [k, p] of f) merged.set(k, p);
    }
    if (m !== undefined) for (const [k, p] of m) merged.set(k, p);
    return merged.values();
  }

  /**
   * Entries of a bucket with start <= key < end (end undefined: to the last key), in key order,
   * staged writes included. At most `limit` entries (0: no limit).
   */
  range(bucket: string, start?: Buffer, end?: Buffer, limit = 0): Array<[Buffer, Buffer]> {
    this.checkOpen();
    const out: Array<[Buffer, Buffer]> = [];
    const staged: PendingWrite[] = [];
    const m = this.stagedOf(bucket);
    if (m !== undefined) {
      for (const p of m) {
        if (start !== undefined && Buffer.compare(p.key, start) < 0) continue;
        if (end !== undefined && Buffer.compare(p.key, end) >= 0) continue;
        staged.push(p);
      }
      staged.sort((a, b) => Buffer.compare(a.key, b.key));
    }
    let si = 0;
    const want = limit > 0 ? limit : Infinity;
    const opts: { start?: Buffer; end?: Buffer } = {};
    if (start !== undefined) opts.start = start;
    if (end !== undefined) opts.end = end;
    for (const { key, value } of this.db(bucket).getRange(opts)) {
      while (si < staged.length && Buffer.compare(staged[si].key, key) < 0) {
        const p = staged[si++];
        if (p.value !== null) out.push([p.key, p.value]);
        if (out.length >= want) return out;
      }
      if (si < staged.length && Buffer.compare(staged[si].key, key) === 0) {
        const p = staged[si++];
        if (p.value !== null) out.push([p.key, p.value]);
      } else {
        out.push([key, value]);
      }
      if (out.length >= want) return out;
    }
    while (si < staged.length && out.length < want) {
      const p = staged[si++];
      if (p.value !== null) out.push([p.key, p.value]);
    }
    return out;
  }

  /**
   * Committed entries of `bucket` with key >= start, in key order, decoded in place: the decoder
   * sees LMDB's own buffers (valid during its call only), so an entry costs no Buffer unless it
   * makes one. fn returns false to stop. Staged writes are not seen, so a bucket holding any is
   * refused: for a backend with nothing staged (the index rebuild on open, a received
   * snapshot's database).
   */
  scanCommitted<K, V>(bucket: string, start: Buffer | undefined, dec: InPlaceDecoder<K, V>, fn: (key: K, value: V) => boolean | void): void {
    this.checkOpen();
    const staged = this.stagedOf(bucket);
    if (staged !== undefined && !staged[Symbol.iterator]().next().done) throw new Error(`backend: scanCommitted of bucket ${bucket} with staged writes`);
    // lmdb's typings want Buffer-like keys; this handle's keys are whatever dec.readKey makes
    type Decoding = { getRange(o: { start?: Buffer }): Iterable<{ key: K; value: V }> };
    let db = this.decodingDbs.get(dec) as Decoding | undefined;
    if (db === undefined) {
      const h = this.env.openDB({
        name: bucket,
        keyEncoding: 'binary',
        // a value "encoder" is handed LMDB's buffer and the value's size, uncopied
        encoder: { encode: (v: unknown) => v, decode: dec.readValue },
      } as unknown as DatabaseOptions & { name: string });
      // lmdb-js reads each key with the handle's readKey (for binary keys: a Buffer copy); keys
      // to start from stay binary (writeKey is untouched). mvcc-reload.test.ts checks the result.
      (h as unknown as { readKey: InPlaceDecoder<K, V>['readKey'] }).readKey = dec.readKey;
      db = h as unknown as Decoding;
      this.decodingDbs.set(dec, db);
    }
    for (const { key, value } of db.getRange(start === undefined ? {} : { start })) if (fn(key, value) === false) return;
  }

  // ---- aux API (lease, auth, members, alarms) ----

  putAux(bucket: string, key: Buffer | string, value: Buffer): void {
    this.put(bucket, typeof key === 'string' ? Buffer.from(key) : key, value);
    this.commitIfFull();
  }

  deleteAux(bucket: string, key: Buffer | string): void {
    this.delete(bucket, typeof key === 'string' ? Buffer.from(key) : key);
    this.commitIfFull();
  }

  getAux(bucket: string, key: Buffer | string): Buffer | undefined {
    return this.get(bucket, typeof key === 'string' ? Buffer.from(key) : key);
  }

  rangeAux(bucket: string): Array<[Buffer, Buffer]> {
    return this.range(bucket);
  }

  // ---- consistent index ----

  /** Raft index of the last entry applied; persisted in the same commit as the data. */
  setConsistentIndex(i: number): void {
    assert(Number.isSafeInteger(i) && i >= 0, 'consistent index must be a safe non-negative integer');
    this.checkOpen();
    this.consistentIdx = i;
    this.consistentIdxDirty = true;
  }

  consistentIndex(): number {
    return this.consistentIdx;
  }

  // ---- commits ----

  /** Number of staged operations not yet committed. */
  pendingCount(): number {
    return this.pendingOps;
  }

  /** Batches handed to LMDB's write thread and not yet committed (tests). */
  committingCount(): number {
    return this.inflight.length;
  }

  /** Number of LMDB transactions committed so far (metrics/tests). */
  commitCount(): number {
    return this.commits;
  }

  private readonly onCommit: ((seconds: number) => void) | undefined;

  /**
   * Holds size-triggered commits (commitIfFull) until release(): an MVCC write txn holds them
   * so that aux writes made inside it never commit half of the txn.
   */
  hold(): void {
    this.holds++;
  }

  release(): void {
    assert(this.holds > 0, 'release without hold');
    this.holds--;
  }

  /** Commits now if the batch reached its op limit (unless held). Called at transaction boundaries. */
  commitIfFull(): void {
    if (this.pendingOps >= this.batchLimitOps && this.holds === 0) this.commitAsync();
  }

  private hasStaged(): boolean {
    // While a defragment copies the file, writes stay staged; they are committed to the new
    // file right after the swap.
    return !this.closed && !this.defragging && (this.pendingOps > 0 || this.consistentIdxDirty);
  }

  /** Takes the pending batch (and the consistent index, -1 if unchanged) out for a commit. */
  private takePending(): { batch: StagedWrites; ci: number } {
    failpoint('backendBeforeCommit');
    const batch = this.pending;
    const ci = this.consistentIdxDirty ? this.consistentIdx : -1;
    this.pending = new Map();
    this.pendingOps = 0;
    this.consistentIdxDirty = false;
    this.commits++;
    return { batch, ci };
  }

  /** Writes a batch inside the current LMDB write transaction. */
  private writeBatch(batch: StagedWrites, ci: number): void {
    for (const [bucket, m] of batch) {
      const db = this.db(bucket);
      for (const p of m.values()) {
        if (p.value === null) db.removeSync(p.key);
        else db.putSync(p.key, p.value);
      }
    }
    if (ci >= 0) {
      const b = Buffer.allocUnsafe(8);
      b.writeBigUInt64BE(BigInt(ci), 0);
      this.db(Buckets.meta).putSync(metaConsistentIndexKey, b);
    }
  }

  /** Queues a batch's writes as lmdb-js async operations (inside env.batch: one transaction). */
  private queueBatch(batch: StagedWrites, ci: number): void {
    for (const [bucket, m] of batch) {
      const db = this.db(bucket);
      for (const p of m.values()) {
        // the batch's promise reports the outcome; the per-write ones are not needed
        ignoreOutcome(p.value === null ? db.remove(p.key) : db.put(p.key, p.value));
      }
    }
    if (ci >= 0) {
      const b = Buffer.allocUnsafe(8);
      b.writeBigUInt64BE(BigInt(ci), 0);
      ignoreOutcome(this.db(Buckets.meta).put(metaConsistentIndexKey, b));
    }
  }

  /**
   * Commits every staged write (and the consistent index) in one LMDB transaction, on the event
   * loop — or, while a batch is in flight on LMDB's write thread, queued behind it.
   */
  commitSync(): void {
    if (!this.hasStaged()) return;
    if (this.inflight.length > 0) {
      this.commitAsync();
      return;
    }
    const { batch, ci } = this.takePending();
    const t0 = performance.now();
    this.env.transactionSync(() => this.writeBatch(batch, ci));
    this.onCommit?.((performance.now() - t0) / 1000);
    this.refreshSize();
    failpoint('backendAfterCommit');
  }

  /** Hands the staged batch to LMDB's write thread; it stays readable from memory until committed. */
  private commitAsync(): void {
    if (!this.hasStaged()) return;
    const { batch, ci } = this.takePending();
    this.inflight.push(batch);
    // One lmdb-js batch: the writes are queued as instructions that LMDB's write thread executes
    // in one transaction, without calling back into JavaScript (an async transaction callback
    // would have to wait for the event loop while holding the write lock).
    for (const bucket of batch.keys()) this.db(bucket); // opening a bucket is a transaction of its own
    if (ci >= 0) this.db(Buckets.meta);
    const t0 = performance.now();
    const committed = this.env.batch(() => this.queueBatch(batch, ci));
    this.inflightDone = Promise.all([this.inflightDone, committed]).then(
      () => {
        // transactions commit in order: this batch is the oldest in flight
        assert(this.inflight[0] === batch, 'async commits resolved out of order');
        this.inflight.shift();
        this.onCommit?.((performance.now() - t0) / 1000);
        this.refreshSize();
        failpoint('backendAfterCommit');
      },
      (err: unknown) => {
        // the batch is lost from the database: no later read or commit may pretend otherwise
        this.asyncFailure ??= err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  /** Resolves once no batch is in flight (every batch handed to LMDB's write thread committed). */
  private async settled(): Promise<void> {
    while (this.inflight.length > 0 && this.asyncFailure === undefined) await this.inflightDone;
    if (this.asyncFailure !== undefined) throw this.asyncFailure;
  }

  /** Hands everything staged to LMDB's write thread and resolves once it is committed. */
  private async commitStaged(): Promise<void> {
    await this.settled();
    this.commitAsync();
    await this.settled();
  }

  /** Commits now (after a running defragment, if any); resolves once committed. */
  async forceCommit(): Promise<void> {
    this.checkOpen();
    if (this.defragDone !== undefined) await this.defragDone.catch(() => undefined);
    await this.commitStaged();
  }

  /** Commits everything staged and waits until it is flushed to disk (e.g. before releasing WAL segments). */
  async commitDurable(): Promise<void> {
    await this.forceCommit();
    await this.env.flushed;
  }

  // ---- size, hash, snapshot, defragment ----

  /**
   * Bytes of the database file on disk as of the last commit (as etcd's backend.Size(), which its
   * quota reads on every write). Kept current by the events that change the file, so reading it
   * costs nothing and never lags behind a commit or a defragment.
   */
  size(): number {
    this.checkOpen();
    return this.fileBytes;
  }

  private refreshSize(): void {
    // the commit itself succeeded: a file that cannot be stat'ed (data dir removed under a
    // running member) keeps the last known size rather than failing the commit
    const st = statSync(join(this.path, lmdbDataFile), { throwIfNoEntry: false });
    if (st !== undefined) this.fileBytes = st.size;
  }

  /** Bytes of pages holding live data (file size minus free pages, approximately). */
  sizeInUse(): number {
    this.checkOpen();
    const st = this.env.getStats() as { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    let pages = 2 + st.treeBranchPageCount + st.treeLeafPageCount + st.overflowPages; // 2 meta pages
    for (const name of this.bucketNames()) {
      const s = this.db(name).getStats() as { treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
      pages += s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
    }
    return pages * st.pageSize;
  }

  /** Names of the buckets in the environment (in `txn`, else as committed). */
  private envBucketNames(txn?: Transaction): string[] {
    const names: string[] = [];
    for (const { key } of this.env.getRange(txn === undefined ? {} : { transaction: txn })) {
      // LMDB stores database names NUL-terminated
      names.push((Buffer.isBuffer(key) ? key.toString('latin1') : String(key)).replace(/\0$/, ''));
    }
    return names;
  }

  /** Names of the buckets present in the environment. */
  bucketNames(): string[] {
    this.checkOpen();
    const names = this.envBucketNames();
    for (const b of this.pending.keys()) if (!names.includes(b)) names.push(b);
    for (const batch of this.inflight) for (const b of batch.keys()) if (!names.includes(b)) names.push(b);
    return names.sort();
  }

  /** CRC32 over every bucket name, key and value (staged writes included). */
  hash(): number {
    let h = 0;
    for (const bucket of this.bucketNames()) {
      h = crc32(bucket, h);
      for (const [k, v] of this.range(bucket)) {
        h = crc32(k, h);
        h = crc32(v, h);
      }
    }
    return h >>> 0;
  }

  /**
   * Writes a consistent point-in-time copy of the whole database (every staged write included)
   * to `file`. Restore it with Backend.restoreFrom(file, path).
   */
  async copyTo(file: string, compact = false): Promise<void> {
    this.checkOpen();
    if (this.defragDone !== undefined) await this.defragDone.catch(() => undefined);
    await this.commitStaged();
    mkdirSync(dirname(file), { recursive: true });
    rmSync(file, { force: true });
    await this.backupToFile(file, compact);
  }

  /** LMDB copies into an (empty) directory; move the copied data file to `file`. */
  private async backupToFile(file: string, compact: boolean): Promise<void> {
    const tmpDir = `${file}.copy-tmp`;
    rmSync(tmpDir, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });
    try {
      await this.env.backup(tmpDir, compact);
      renameSync(join(tmpDir, lmdbDataFile), file);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }

  /**
   * Commits everything staged, then opens a view of the committed data (see BackendReadView):
   * it holds every write made before the call, none made after it resolved.
   */
  async openReadView(): Promise<BackendReadView> {
    this.checkOpen();
    for (;;) {
      if (this.defragDone !== undefined) await this.defragDone.catch(() => undefined);
      await this.commitStaged();
      this.checkOpen();
      // a defragment begun meanwhile holds writes back until its swap: wait for it again
      if (this.defragDone === undefined) break;
    }
    // LMDB lets a read transaction use only the databases opened before it began
    for (const name of this.envBucketNames()) this.db(name);
    const txn = this.env.useReadTransaction();
    this.views++;
    let open = true;
    return {
      bucketNames: () => this.envBucketNames(txn),
      range: (bucket, start, end, limit = 0) => {
        assert(open, 'read of a closed view');
        this.checkOpen();
        const opts: { start?: Buffer; end?: Buffer; limit?: number; transaction: Transaction } = { transaction: txn };
        if (start !== undefined) opts.start = start;
        if (end !== undefined) opts.end = end;
        if (limit > 0) opts.limit = limit;
        const out: Array<[Buffer, Buffer]> = [];
        for (const { key, value } of this.db(bucket).getRange(opts)) out.push([key, value]);
        return out;
      },
      close: () => {
        if (!open) return;
        open = false;
        // the environment may have been closed under the view (backend closed): nothing to release
        if (!this.closed) txn.done();
        if (--this.views === 0) this.viewsClosed?.();
      },
    };
  }

  /** Resolves once no read view is open. */
  private async noViews(): Promise<void> {
    while (this.views > 0) await new Promise<void>((resolve) => (this.viewsClosed = resolve));
    this.viewsClosed = undefined;
  }

  /**
   * Rewrites the live data into a fresh, compact file and swaps it in. Reads and writes keep
   * working meanwhile (writes stay staged until the swap).
   */
  async defragment(): Promise<void> {
    this.checkOpen();
    if (this.defragging) throw new BackendBusyError('defragment');
    this.defragDone = this.doDefragment();
    try {
      await this.defragDone;
    } finally {
      this.defragDone = undefined;
    }
  }

  private async doDefragment(): Promise<void> {
    await this.commitStaged();
    this.defragging = true;
    const tmp = join(this.path, 'defrag.mdb.tmp');
    try {
      rmSync(tmp, { force: true });
      await this.backupToFile(tmp, true);
      failpoint('defragDuring');
      // open views read the old environment: the swap waits for them
      await this.noViews();
      // Swap: close the old environment, move the compacted copy into place, reopen. LMDB
      // closes synchronously when no async write is queued (we never queue one), so no read
      // can observe the closed environment.
      const closing = this.env.close();
      if ((this.env as unknown as { status?: string }).status !== 'closed') await closing;
      renameSync(tmp, join(this.path, lmdbDataFile));
      this.dbs.clear();
      this.decodingDbs.clear();
      this.env = Backend.openEnv(this.path, this.noFsync);
      this.refreshSize();
    } finally {
      if (existsSync(tmp)) rmSync(tmp, { force: true });
      this.defragging = false;
    }
    // the writes staged meanwhile, committed to the new file off the event loop
    await this.commitStaged();
  }

  /**
   * Replaces the whole database by the LMDB file `dataFile` (a received snapshot's; it is moved
   * into place). What is staged is committed first (to the file that goes), open read views and
   * a running defragment are waited for, then the environment is swapped as a defragment swaps
   * its copy, and the consistent index is the new file's.
   */
  async replaceWith(dataFile: string): Promise<void> {
    this.checkOpen();
    if (this.defragDone !== undefined) await this.defragDone.catch(() => undefined);
    await this.commitStaged();
    await this.noViews();
    const closing = this.env.close();
    if ((this.env as unknown as { status?: string }).status !== 'closed') await closing;
    renameSync(dataFile, join(this.path, lmdbDataFile));
    this.dbs.clear();
    this.decodingDbs.clear();
    this.env = Backend.openEnv(this.path, this.noFsync);
    const ci = this.db(Buckets.meta).getBinary(metaConsistentIndexKey);
    this.consistentIdx = ci === undefined ? 0 : Number(ci.readBigUInt64BE(0));
    this.consistentIdxDirty = false;
    this.refreshSize();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.defragDone !== undefined) await this.defragDone.catch(() => undefined);
    if (this.closed) return;
    await this.settled().catch(() => undefined);
    if (this.closed) return;
    this.commitSync();
    await this.settled().catch(() => undefined);
    this.closed = true;
    this.dbs.clear();
    await this.env.close();
  }
}
