// The MVCC key space (etcd's mvcc.store): every change gets a (main, sub) revision; the key
// bucket maps revision -> KeyValue; the in-memory TreeIndex maps user key -> its revisions.
// Reads at any revision >= the compact revision see exactly the state at that revision.
//
// Long (~700 lines) on purpose: reads, writes, txns, compaction and recovery share the revision
// counters, the index and the backend batch; split, each part would reach into the others.

import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { TurnBudget } from '../loop/turn-budget.js';
import { sortInSlices } from '../loop/sort-in-slices.js';
import { Backend, Buckets, type BackendOptions } from '../backend/backend.js';
import { failpoint } from '../failpoint/index.js';
import { crc32c } from '@tsetcd/common';
import { ErrClosed, ErrCompacted, ErrFutureRev, ErrTxnInProgress } from './errors.js';
import {
  KeyIndex,
  appendRev,
  compactKey,
  decodeSub,
  encodeSub,
  indexOfRev,
  liveAt,
} from './key-index.js';
import { decodeKey, decodeKeyString, decodeKv, encodeKv, encodedKv, encodeTombstone, etcdKvBytes, leaseOf } from './kv-codec.js';
import { assertSafeRev, etcdRevKey, isTombstoneKey, readRev, revKey, revStartKey, scratchRevKey } from './revision.js';
import { TreeIndex } from './tree-index.js';
import { keyBucketDecoder, type KeyBucketEntry } from './key-bucket-scan.js';
import {
  EventType,
  SortOrder,
  SortTarget,
  type KeyValue,
  type MvccEvent,
  type RangeOptions,
  type RangeResult,
  type ReadView,
  type WriteTxn,
} from './types.js';

export const defaultCompactionBatchKeys = 1000; // etcd compactionBatchLimit
const restoreChunkEntries = 2000;
const hashChunkEntries = 1000;
const eventsChunkEntries = 1000;
const metaScheduledCompactKey = Buffer.from('scheduledCompactRev', 'latin1');
const metaFinishedCompactKey = Buffer.from('finishedCompactRev', 'latin1');
const emptyBuffer = Buffer.alloc(0);

export interface MvccStoreOptions {
  /** keys (index pass) and entries (backend pass) handled per compaction step */
  compactionBatchKeys?: number;
}

export interface HashKVResult {
  hash: number;
  compactRevision: bigint;
  revision: bigint;
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`mvcc invariant violated: ${msg}`);
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n), 0);
  return b;
}

function toRevNumber(r: bigint): number {
  const n = Number(r);
  assertSafeRev(n < 0 ? 0 : n);
  return n;
}

/** A decoded range end: null = single key, '' = no upper bound ("\0"), else exclusive end. */
function rangeEndOf(rangeEnd: Buffer | undefined): string | null | undefined {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return null;
  return rangeEnd.toString('latin1');
}

/** An index rebuilt from a backend, with what derives from it (MvccStore.buildIndex). */
interface BuiltIndex {
  index: TreeIndex;
  currentRev: number;
  liveKeyCount: number;
  leased: Map<string, bigint>;
  schedRev: number;
  finRev: number;
}

function byIndexKey(x: KeyIndex, y: KeyIndex): number {
  return x.key < y.key ? -1 : 1;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class MvccStore {
  readonly backend: Backend;
  private readonly ownsBackend: boolean;
  private readonly compactionBatchKeys: number;
  private index = new TreeIndex();
  /** etcd starts a fresh store at revision 1, so the first write is revision 2 */
  private currentRev = 1;
  /** -1: never compacted */
  private compactMainRev = -1;
  private txnOpen = false;
  private closed = false;
  /** until the index is rebuilt from the backend */
  private loading = true;
  private compactChain: Promise<void> = Promise.resolve();
  /** hashKV runs in progress: compaction steps wait for them */
  private readonly runningHashes = new Set<Promise<number>>();
  /** resolves when a compaction resumed on open has finished */
  readonly restored: Promise<void>;
  /** operations of read views and write txns, for etcd's etcd_mvcc_{range,put,delete,txn}_total (a txn: more than one op) */
  readonly opCounts = { range: 0, put: 0, delete: 0, txn: 0 };
  /** live keys attached to a lease as the last index rebuild found them (takeRestoredLeasedKeys) */
  private restoredLeasedKeys = new Map<string, bigint>();
  /** keys whose latest revision is not a tombstone (etcd's etcd_debugging_mvcc_keys_total) */
  private liveKeyCount = 0;

  private constructor(backend: Backend, ownsBackend: boolean, opts: MvccStoreOptions) {
    this.backend = backend;
    this.ownsBackend = ownsBackend;
    this.compactionBatchKeys = opts.compactionBatchKeys ?? defaultCompactionBatchKeys;
    assert(this.compactionBatchKeys > 0, 'compactionBatchKeys must be positive');
    this.restored = this.restore();
  }

  /** A store on an open backend (the caller closes the backend). */
  static open(backend: Backend, opts: MvccStoreOptions = {}): MvccStore {
    return new MvccStore(backend, false, opts);
  }

  /** Opens (creating if needed) the backend at <dataDir>/member/snap/db; close() closes it. */
  static openDir(dataDir: string, opts: MvccStoreOptions & Omit<BackendOptions, 'path'> = {}): MvccStore {
    const backend = Backend.open({
      path: join(dataDir, 'member', 'snap', 'db'),
      batchIntervalMs: opts.batchIntervalMs,
      batchLimitOps: opts.batchLimitOps,
      unsafeNoFsync: opts.unsafeNoFsync,
      onCommit: opts.onCommit,
    });
    return new MvccStore(backend, true, opts);
  }

  /**
   * Rebuilds the index from the key bucket on open, in slices of the event loop: a small store is
   * loaded before the constructor returns, a big one before `restored` resolves (the store
   * refuses use until then).
   */
  private async restore(): Promise<void> {
    // adopted in the same turn as the build ends (a small store: before the constructor returns)
    await this.buildIndex(this.backend, (built) => this.adopt(built));
  }

  /**
   * Replaces the store's content by the database `src` (a received snapshot's), as etcd's
   * kv.Restore. The new index is built from `src` in slices while the store keeps serving reads
   * from its current backend and index; then `swapBackend` moves the database in under the
   * backend and the new index takes over in the same turn. A compaction in progress finishes
   * first.
   */
  async reloadFrom(src: Backend, swapBackend: () => Promise<void>): Promise<void> {
    this.checkOpen();
    await this.compactChain.catch(() => undefined);
    let built: BuiltIndex | undefined;
    await this.buildIndex(src, (b) => {
      built = b;
    });
    if (built === undefined) throw new ErrClosed();
    await swapBackend();
    await this.adopt(built);
  }

  /**
   * Builds the index of backend `b` and what derives from it, and hands it to `then` in the turn
   * the build ends (not at all if the store closed meanwhile).
   */
  private async buildIndex(b: Backend, then: (built: BuiltIndex) => Promise<void> | void): Promise<void> {
    const budget = new TurnBudget();
    const byKey = new Map<string, KeyIndex>();
    // live keys attached to a lease (latest revision), gathered in the same pass
    const leased = new Map<string, bigint>();
    let currentRev = 1; // an empty store is at revision 1
    let from: Buffer | undefined = undefined;
    for (;;) {
      let scanned = 0;
      let more = false;
      let resume: Buffer | undefined = from;
      b.scanCommitted(Buckets.key, from, keyBucketDecoder, (e: KeyBucketEntry) => {
        const ks = e.key;
        if (e.main > currentRev) currentRev = e.main;
        let ki = byKey.get(ks);
        if (e.tombstone) {
          // A tombstone whose generation was partly removed by an interrupted compaction is
          // skipped; the resumed compaction deletes it.
          if (ki !== undefined && ki.revs.length > 0 && ki.revs[ki.revs.length - 1] >= 0) {
            appendRev(ki, e.main, e.sub, true);
            if (leased.size > 0) leased.delete(ks);
          }
        } else {
          if (ki === undefined) {
            ki = new KeyIndex(ks);
            byKey.set(ks, ki);
          }
          appendRev(ki, e.main, e.sub, false);
          // revisions come in order: the last one seen is the key's latest
          if (e.lease !== 0n) leased.set(ks, e.lease);
          else if (leased.size > 0) leased.delete(ks);
        }
        // a chunk ends when the slice is spent (checked every so many entries); the next one
        // starts right after this entry
        if (++scanned % restoreChunkEntries === 0 && budget.spent()) {
          more = true;
          resume = Buffer.concat([revKey(e.main, e.sub, e.tombstone), Buffer.of(0)]);
          return false;
        }
        return true;
      });
      if (!more) break;
      from = resume;
      await budget.next();
      if (this.closed) return;
    }
    const kis = [...byKey.values()];
    const index = new TreeIndex();
    // a small store stays synchronous here too
    if (kis.length <= restoreChunkEntries) {
      index.bulkLoad(kis.sort(byIndexKey), byKey);
    } else {
      const sorted = await sortInSlices(kis, byIndexKey, budget);
      if (this.closed) return;
      await index.bulkLoadInSlices(sorted, byKey, budget);
      if (this.closed) return;
    }
    let liveKeyCount = 0;
    for (const ki of kis) if (ki.revs.length > 0 && ki.revs[ki.revs.length - 1] >= 0) liveKeyCount++;
    const sched = b.get(Buckets.meta, metaScheduledCompactKey);
    const fin = b.get(Buckets.meta, metaFinishedCompactKey);
    const schedRev = sched === undefined ? -1 : readRev(sched, 0);
    const finRev = fin === undefined ? -1 : readRev(fin, 0);
    await then({ index, currentRev: Math.max(currentRev, schedRev, finRev), liveKeyCount, leased, schedRev, finRev });
  }

  /** Takes over a built index (synchronously up to a resumed compaction, which it awaits). */
  private async adopt(built: BuiltIndex): Promise<void> {
    this.index = built.index;
    this.currentRev = built.currentRev;
    this.liveKeyCount = built.liveKeyCount;
    this.restoredLeasedKeys = built.leased;
    this.compactMainRev = built.finRev;
    this.loading = false;
    if (built.schedRev > built.finRev) {
      this.compactMainRev = built.schedRev;
      const resumed = this.runCompaction(built.schedRev);
      // handled here too: nobody has to await `restored`
      this.compactChain = resumed.catch(() => undefined);
      await resumed;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrClosed();
    assert(!this.loading, 'store used before `restored` resolved');
  }

  currentRevision(): bigint {
    return BigInt(this.currentRev);
  }

  /** The revision of the last compaction (0n if none). */
  compactRevision(): bigint {
    return BigInt(Math.max(0, this.compactMainRev));
  }

  /** Number of user keys in the index (live or with history). */
  indexedKeys(): number {
    return this.index.size;
  }

  setConsistentIndex(i: number): void {
    this.backend.setConsistentIndex(i);
  }

  consistentIndex(): number {
    return this.backend.consistentIndex();
  }

  /** A read view at the current revision. */
  read(): ReadView {
    this.checkOpen();
    const rev = this.currentRev;
    return {
      range: (key: Buffer, opts?: RangeOptions) => {
        this.opCounts.range++;
        return this.rangeAt(key, opts ?? {}, rev);
      },
      revision: () => BigInt(rev),
    };
  }

  /** Shorthand for read().range(...). */
  range(key: Buffer, opts: RangeOptions = {}): RangeResult {
    this.checkOpen();
    return this.rangeAt(key, opts, this.currentRev);
  }

  write(): WriteTxn {
    this.checkOpen();
    if (this.txnOpen) throw new ErrTxnInProgress();
    this.txnOpen = true;
    this.backend.hold();
    return new StoreWriteTxn(this, this.currentRev);
  }

  // ---- internals shared with StoreWriteTxn ----

  /** @internal */
  endTxn(newRev: number | undefined): void {
    assert(this.txnOpen, 'end of a txn that is not open');
    this.txnOpen = false;
    this.backend.release();
    if (newRev !== undefined) {
      assert(newRev === this.currentRev + 1, 'a txn advances the revision by one');
      this.currentRev = newRev;
      this.backend.commitIfFull();
    }
  }

  /** @internal the stored KeyValue of pair i of ki (must be a live revision) */
  fetch(ki: KeyIndex, i: number): KeyValue {
    const main = ki.revs[i << 1];
    const sub = ki.revs[(i << 1) + 1];
    assert(sub >= 0, 'fetch of a tombstone');
    const v = this.backend.get(Buckets.key, scratchRevKey(main, sub));
    assert(v !== undefined, `revision ${main}/${sub} of an indexed key missing from the backend`);
    return decodeKv(v, BigInt(main));
  }

  /** @internal live (KeyIndex, pair) of every key in range at rev, in key order */
  liveIn(key: Buffer, rangeEnd: Buffer | undefined, rev: number, fn: (ki: KeyIndex, i: number) => void): void {
    const end = rangeEndOf(rangeEnd);
    const start = key.toString('latin1');
    if (end === undefined) {
      const ki = this.index.get(start);
      if (ki === undefined) return;
      const i = liveAt(ki, rev);
      if (i >= 0) fn(ki, i);
      return;
    }
    this.index.ascend(start, end, (ki) => {
      const i = liveAt(ki, rev);
      if (i >= 0) fn(ki, i);
    });
  }

  /** @internal a new KeyIndex for a key absent from the index */
  /** Number of keys that exist now (not deleted). */
  get liveKeys(): number {
    return this.liveKeyCount;
  }

  /** @internal a write created a key (it did not exist) or deleted one */
  countLiveKeys(delta: number): void {
    this.liveKeyCount += delta;
  }

  indexCreate(key: string): KeyIndex {
    return this.index.create(key);
  }

  /** @internal */
  indexGet(key: string): KeyIndex | undefined {
    return this.index.get(key);
  }

  /**
   * etcd's v3 Range (apply.go Range over kvstore_txn.go rangeKeys). readRev: the revision a
   * request for revision 0 reads, also the header revision.
   */
  rangeAt(key: Buffer, opts: RangeOptions, readRev: number): RangeResult {
    this.checkOpen();
    let rev = opts.revision === undefined ? 0 : Number(opts.revision);
    if (rev > readRev) throw new ErrFutureRev();
    if (rev <= 0) rev = readRev;
    if (rev < this.compactMainRev) throw new ErrCompacted();

    const sortOrder = opts.sortOrder ?? SortOrder.NONE;
    const sortTarget = opts.sortTarget ?? SortTarget.KEY;
    const limit = opts.limit ?? 0;
    const minMod = opts.minModRevision ?? 0n;
    const maxMod = opts.maxModRevision ?? 0n;
    const minCreate = opts.minCreateRevision ?? 0n;
    const maxCreate = opts.maxCreateRevision ?? 0n;
    const filtered = minMod !== 0n || maxMod !== 0n || minCreate !== 0n || maxCreate !== 0n;
    // With sorting or filters etcd fetches everything, else one past the limit (for `more`).
    let fetchLimit = sortOrder !== SortOrder.NONE || filtered ? 0 : limit;
    if (fetchLimit > 0) fetchLimit++;

    let count = 0;
    const hits: Array<[KeyIndex, number]> = [];
    this.liveIn(key, opts.rangeEnd, rev, (ki, i) => {
      count++;
      if (!opts.countOnly && (fetchLimit <= 0 || hits.length < fetchLimit)) hits.push([ki, i]);
    });
    const header = BigInt(readRev);
    if (opts.countOnly || count === 0) return { kvs: [], count, more: false, revision: header };

    let kvs = hits.map(([ki, i]) => this.fetch(ki, i));
    if (maxMod !== 0n) kvs = kvs.filter((kv) => kv.modRevision <= maxMod);
    if (minMod !== 0n) kvs = kvs.filter((kv) => kv.modRevision >= minMod);
    if (maxCreate !== 0n) kvs = kvs.filter((kv) => kv.createRevision <= maxCreate);
    if (minCreate !== 0n) kvs = kvs.filter((kv) => kv.createRevision >= minCreate);

    let order = sortOrder;
    if (sortTarget !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
    if (order !== SortOrder.NONE) {
      let cmp: (a: KeyValue, b: KeyValue) => number;
      switch (sortTarget) {
        case SortTarget.VERSION:
          cmp = (a, b) => cmpBig(a.version, b.version);
          break;
        case SortTarget.CREATE:
          cmp = (a, b) => cmpBig(a.createRevision, b.createRevision);
          break;
        case SortTarget.MOD:
          cmp = (a, b) => cmpBig(a.modRevision, b.modRevision);
          break;
        case SortTarget.VALUE:
          cmp = (a, b) => Buffer.compare(a.value, b.value);
          break;
        default:
          cmp = (a, b) => Buffer.compare(a.key, b.key);
      }
      // Stable sorts: ties stay in key-ascending order in both directions.
      if (sortTarget === SortTarget.KEY) {
        if (order === SortOrder.DESCEND) kvs.reverse();
      } else if (order === SortOrder.ASCEND) kvs.sort(cmp);
      else kvs.sort((a, b) => cmp(b, a));
    }
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    if (opts.keysOnly) for (const kv of kvs) kv.value = emptyBuffer;
    return { kvs, count, more, revision: header };
  }

  /**
   * The live keys attached to a lease, with their leases, as the last index rebuild (open, or a
   * snapshot install) found them: gathered during the rebuild's scan, so re-attaching keys to
   * leases costs no second pass over the keys. Handed out once (the caller attaches them before
   * any write).
   */
  takeRestoredLeasedKeys(): Array<{ key: Buffer; lease: bigint }> {
    this.checkOpen();
    const out: Array<{ key: Buffer; lease: bigint }> = [];
    for (const [k, lease] of this.restoredLeasedKeys) out.push({ key: Buffer.from(k, 'latin1'), lease });
    this.restoredLeasedKeys = new Map();
    return out;
  }

  // ---- compaction ----

  /**
   * Drops history before rev (each key keeps its latest version at rev; keys whose latest
   * revision at rev is a tombstone disappear). Reads below rev fail at once; the data is
   * removed in steps. Survives restarts (finished on open).
   */
  compact(rev: bigint): { done: Promise<void> } {
    this.checkOpen();
    const r = Number(rev);
    if (r <= this.compactMainRev) throw new ErrCompacted();
    if (r > this.currentRev) throw new ErrFutureRev();
    this.compactMainRev = r;
    this.backend.put(Buckets.meta, metaScheduledCompactKey, u64(r));
    // the schedule is committed (on LMDB's write thread) before the first step removes anything;
    // until then a crash loses it together with the consistent index of the request that made it
    const done = this.compactChain.then(async () => {
      if (this.closed) return;
      await this.backend.forceCommit();
      await this.runCompaction(r);
    });
    this.compactChain = done.catch(() => undefined);
    return { done };
  }

  /** Resolves once no hashKV is running (a compaction step would change what it reads). */
  private async hashesSettled(): Promise<void> {
    while (this.runningHashes.size > 0) await Promise.allSettled([...this.runningHashes]);
  }

  private async runCompaction(r: number): Promise<void> {
    const step = this.compactionBatchKeys;
    // 1. the index, a batch of keys at a time
    let start = '';
    for (;;) {
      await this.hashesSettled();
      if (this.closed) return;
      const batch: KeyIndex[] = [];
      this.index.ascend(start, null, (ki) => {
        batch.push(ki);
        return batch.length < step;
      });
      for (const ki of batch) if (compactKey(ki, r)) this.index.remove(ki.key);
      if (batch.length < step) break;
      start = batch[batch.length - 1].key + '\u0000';
      failpoint('compactDuring');
      await yieldToLoop();
    }
    // 2. the key bucket: revisions <= r the index no longer holds
    const end = revStartKey(r + 1);
    let from: Buffer = revStartKey(0);
    for (;;) {
      await this.hashesSettled();
      if (this.closed) return;
      const entries = this.backend.range(Buckets.key, from, end, step);
      for (const [k, v] of entries) {
        const ki = this.index.get(decodeKeyString(v));
        const subEnc = encodeSub(readRev(k, 8), isTombstoneKey(k));
        if (ki === undefined || indexOfRev(ki, readRev(k, 0), subEnc) < 0) this.backend.delete(Buckets.key, k);
      }
      // etcd commits each compaction batch at once (--experimental-compaction-batch-limit); on
      // LMDB's write thread, the next batch waits for it
      if (entries.length > 0) await this.backend.forceCommit();
      if (entries.length < step) break;
      from = Buffer.concat([entries[entries.length - 1][0], Buffer.of(0)]);
      failpoint('compactDuring');
      await yieldToLoop();
    }
    if (this.closed) return;
    this.backend.put(Buckets.meta, metaFinishedCompactKey, u64(r));
    await this.backend.forceCommit();
  }

  // ---- hashes ----

  /**
   * etcd 3.4's HashByRev: CRC-32C (Castagnoli) of the bucket name "key", then of every key
   * bucket entry with revision <= rev (0: current) as etcd stores it (revision bytes,
   * marshalled mvccpb.KeyValue). Entries at or below the compact revision count only when
   * they are a key's live revision at rev (etcd's kvindex.Keep(rev)), unless no key is live
   * at rev at all; so the hash does not depend on how far a compaction has got, and equals
   * etcd's for the same history.
   */
  async hashKV(rev: bigint): Promise<HashKVResult> {
    this.checkOpen();
    const r = Number(rev);
    if (r > 0 && r <= this.compactMainRev) throw new ErrCompacted();
    if (r > this.currentRev) throw new ErrFutureRev();
    // etcd reads 0 as "current"; a negative revision hashes no entry at all
    const upper = r === 0 ? this.currentRev : Math.max(r, 0);
    const compactRev = this.compactMainRev;
    const currentRev = this.currentRev;
    // Hashed in slices: writes in between add revisions above `upper` only, and compaction
    // steps (which delete entries the hash may not have reached) wait for running hashes.
    const running = this.hashUpTo(upper, compactRev);
    this.runningHashes.add(running);
    try {
      return { hash: await running, compactRevision: BigInt(compactRev), revision: BigInt(currentRev) };
    } finally {
      this.runningHashes.delete(running);
    }
  }

  /** Whether any key is live at rev (scanning the index in slices). */
  private async anyLiveAt(rev: number, budget: TurnBudget): Promise<boolean> {
    let start = '';
    for (;;) {
      let live = false;
      let seen = 0;
      let last = '';
      this.index.ascend(start, null, (ki) => {
        last = ki.key;
        if (liveAt(ki, rev) >= 0) live = true;
        return !live && ++seen < hashChunkEntries;
      });
      if (live) return true;
      if (seen < hashChunkEntries) return false;
      start = last + '\u0000';
      await budget.pause();
      this.checkOpen();
    }
  }

  private async hashUpTo(upper: number, compactRev: number): Promise<number> {
    const budget = new TurnBudget();
    const anyLive = compactRev >= 0 && (await this.anyLiveAt(upper, budget));
    let h = crc32c(Buffer.from(Buckets.key, 'latin1'));
    const end = revStartKey(upper + 1);
    let from: Buffer = revStartKey(0);
    for (;;) {
      const entries = this.backend.range(Buckets.key, from, end, hashChunkEntries);
      for (const [k, v] of entries) {
        const main = readRev(k, 0);
        const tomb = isTombstoneKey(k);
        if (main <= compactRev && anyLive) {
          // kept only as the key's live revision at `upper`
          if (tomb) continue;
          const ki = this.index.get(decodeKeyString(v));
          if (ki === undefined) continue;
          const i = liveAt(ki, upper);
          if (i < 0 || ki.revs[i << 1] !== main || ki.revs[(i << 1) + 1] !== readRev(k, 8)) continue;
        }
        h = crc32c(etcdRevKey(k), h);
        h = crc32c(etcdKvBytes(v, main, tomb), h);
      }
      if (entries.length < hashChunkEntries) break;
      from = Buffer.concat([entries[entries.length - 1][0], Buffer.of(0)]);
      await budget.pause();
      this.checkOpen();
    }
    return h >>> 0;
  }

  // ---- history for watchers ----

  /**
   * Events on keys in [key, rangeEnd) (rangeEnd as in Range) with fromRev <= revision <= toRev,
   * in revision order. Stops at a revision boundary once `limit` events (0: no limit) are
   * collected; nextRev is the first revision not returned.
   */
  eventsBetween(key: Buffer, rangeEnd: Buffer | undefined, fromRev: bigint, toRev: bigint, limit = 0): { events: MvccEvent[]; nextRev: bigint } {
    this.checkOpen();
    let from = Number(fromRev);
    if (from < 1) from = 1;
    if (from < this.compactMainRev) throw new ErrCompacted();
    const to = Math.min(Number(toRev), this.currentRev);
    const events: MvccEvent[] = [];
    if (from > to) return { events, nextRev: BigInt(from) };
    const endKey = rangeEndOf(rangeEnd);
    const endBuf = typeof endKey === 'string' ? rangeEnd : undefined;
    const match = (k: Buffer): boolean => {
      if (endKey === undefined) return k.equals(key);
      if (Buffer.compare(k, key) < 0) return false;
      return endBuf === undefined || Buffer.compare(k, endBuf) < 0;
    };
    const end = revStartKey(to + 1);
    let cursor: Buffer = revStartKey(from);
    let lastMain = -1;
    for (;;) {
      const entries = this.backend.range(Buckets.key, cursor, end, eventsChunkEntries);
      for (const [k, v] of entries) {
        const main = readRev(k, 0);
        const uk = decodeKey(v);
        if (!match(uk)) continue;
        if (limit > 0 && events.length >= limit && main !== lastMain) return { events, nextRev: BigInt(main) };
        lastMain = main;
        const modRevision = BigInt(main);
        if (isTombstoneKey(k)) {
          events.push({
            type: EventType.DELETE,
            kv: { key: uk, createRevision: 0n, modRevision, version: 0n, value: emptyBuffer, lease: 0n },
          });
        } else {
          events.push({ type: EventType.PUT, kv: decodeKv(v, modRevision) });
        }
      }
      if (entries.length < eventsChunkEntries) break;
      cursor = Buffer.concat([entries[entries.length - 1][0], Buffer.of(0)]);
    }
    return { events, nextRev: BigInt(to + 1) };
  }

  /** Stops compaction, commits, and closes the backend if this store opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compactChain.catch(() => undefined);
    if (this.ownsBackend) await this.backend.close();
    else await this.backend.forceCommit().catch(() => undefined);
  }
}

class StoreWriteTxn implements WriteTxn {
  private readonly store: MvccStore;
  private readonly beginRev: number;
  private readonly events: MvccEvent[] = [];
  private ended = false;
  private ops = 0;

  constructor(store: MvccStore, beginRev: number) {
    this.store = store;
    this.beginRev = beginRev;
  }

  private readRev(): number {
    return this.events.length > 0 ? this.beginRev + 1 : this.beginRev;
  }

  private checkActive(): void {
    assert(!this.ended, 'use of an ended txn');
  }

  revision(): bigint {
    return BigInt(this.readRev());
  }

  range(key: Buffer, opts?: RangeOptions): RangeResult {
    this.checkActive();
    this.ops++;
    this.store.opCounts.range++;
    return this.store.rangeAt(key, opts ?? {}, this.readRev());
  }

  /**
   * Writes a new revision of `key`. The key's create revision, version and lease come from the
   * index (etcd's keyIndex), not from the stored previous value: that value is read only when
   * `wantPrev` asks for it (prev_kv) or the index does not know the key's figures yet.
   * `prevLease` is the lease the key had (0 when none or when it did not exist).
   */
  put(key: Buffer, value: Buffer, lease: bigint, wantPrev = true): { prev?: KeyValue; prevLease: bigint } {
    this.checkActive();
    this.ops++;
    this.store.opCounts.put++;
    const rev = this.beginRev + 1;
    const sub = this.events.length;
    const ks = key.toString('latin1');
    const existing = this.store.indexGet(ks);
    let prev: KeyValue | undefined;
    let prevLease = 0n;
    let created = rev;
    let version = 1;
    if (existing !== undefined) {
      const i = liveAt(existing, rev);
      if (i >= 0) {
        if (wantPrev || existing.ver === 0) {
          prev = this.store.fetch(existing, i);
          existing.created = Number(prev.createRevision);
          existing.ver = Number(prev.version);
          existing.lease = prev.lease;
        }
        created = existing.created;
        version = existing.ver + 1;
        prevLease = existing.lease;
      }
    }
    const createRevision = BigInt(created);
    const storedVersion = BigInt(version);
    const enc = encodeKv(key, createRevision, storedVersion, lease, value);
    this.store.backend.put(Buckets.key, revKey(rev, sub, false), enc);
    const ki = existing ?? this.store.indexCreate(ks);
    appendRev(ki, rev, sub, false);
    ki.created = created;
    ki.ver = version;
    ki.lease = lease;
    if (version === 1) this.store.countLiveKeys(1);
    this.events.push({ type: EventType.PUT, kv: encodedKv(enc, key.length, createRevision, created === rev ? createRevision : BigInt(rev), storedVersion, lease) });
    return { prev, prevLease };
  }

  deleteRange(key: Buffer, rangeEnd?: Buffer): KeyValue[] {
    this.checkActive();
    this.ops++;
    this.store.opCounts.delete++;
    const found: Array<[KeyIndex, number]> = [];
    this.store.liveIn(key, rangeEnd, this.readRev(), (ki, i) => {
      found.push([ki, i]);
    });
    const rev = this.beginRev + 1;
    const modRevision = BigInt(rev);
    const deleted: KeyValue[] = [];
    for (const [ki, i] of found) {
      const prev = this.store.fetch(ki, i);
      deleted.push(prev);
      const sub = this.events.length;
      this.store.backend.put(Buckets.key, revKey(rev, sub, true), encodeTombstone(prev.key));
      appendRev(ki, rev, sub, true);
      this.store.countLiveKeys(-1);
      this.events.push({
        type: EventType.DELETE,
        kv: { key: prev.key, createRevision: 0n, modRevision, version: 0n, value: emptyBuffer, lease: 0n },
      });
    }
    return deleted;
  }

  end(): { revision: bigint; events: MvccEvent[] } {
    this.checkActive();
    this.ended = true;
    if (this.ops > 1) this.store.opCounts.txn++;
    const changed = this.events.length > 0;
    this.store.endTxn(changed ? this.beginRev + 1 : undefined);
    return { revision: this.store.currentRevision(), events: this.events };
  }
}

// exported for tests of the packed index
export { decodeSub };
