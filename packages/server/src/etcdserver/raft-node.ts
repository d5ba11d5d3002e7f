// The raft node driver (etcd's etcdserver/raft.go raftNode): ticks raft, batches proposals, and
// runs the Ready pipeline — WAL and snapshot saving, sending messages, handing each Ready's
// snapshot and committed entries to the apply loop in order — plus the member's own snapshots
// (triggerSnapshot) and the purge job for old snapshot and WAL files.
//
// Pipelined, under @tsetcd/raft's asyncStorageWrites contract: a Ready's WAL write starts, the
// Ready is advanced at once, and the next Ready's write can join the WAL's group commit. Its
// ordinary messages go out now; its answers (Ready.messagesAfterWrite) wait until its records are
// durable, when raft also learns it (persisted()); its applies wait, in order, until the entries
// they apply are durable (not for a commit-only hard state behind them).

import { join } from 'node:path';
import {
  RawNode,
  ErrProposalDropped,
  type ConfChange,
  type Entry,
  type Message,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
  type Status,
} from '@tsetcd/raft';
import { idToHex } from '@tsetcd/common';
import type { ServerLogger } from './config.js';
import type { RaftBoot } from './boot.js';
import { Ticker } from '../loop/ticker.js';

/** Sends raft messages to peers (the peer transport, given at construction; none for one member alone). */
export interface Transport {
  send(msgs: Message[]): void;
}

const noPeers: Transport = { send() {} };

/** Readies whose WAL write / apply may be in flight at once (the pipeline depth). */
const maxPipelinedReadies = 8;

/** What the driver hands out and asks of the member. */
const noSnapshotData = new Uint8Array(0);

export interface RaftNodeListener {
  onSoftState(ss: SoftState): void;
  onReadState(rs: ReadState): void;
  /**
   * A Ready's snapshot (install its database) and committed entries, once its writes are
   * durable, one Ready at a time and in order.
   */
  apply(snapshot: Snapshot | undefined, entries: Entry[]): Promise<void>;
  /** the member's applied index (a snapshot is taken when it is snapshotCount past the last) */
  appliedIndex(): number;
  /** the state machine's part of a snapshot taken at the applied index (the v2 store) */
  snapshotData(): Uint8Array;
  /**
   * Proposals raft refused (ErrProposalDropped): returns those to offer again at the next Ready
   * (while there is no leader, proposals wait for one, as in etcd).
   */
  proposalsDropped(batch: Buffer[]): Buffer[];
  /** makes the backend durable up to the applied index (a snapshot is about to be taken) */
  commitBackend(): Promise<void>;
  /** the loop failed (WAL write error, broken invariant) */
  onFatal(e: unknown): void;
  /** seconds a WAL fsync took */
  onWalFsync?(seconds: number): void;
}

export interface RaftNodeOptions {
  memberId: bigint;
  electionTicks: number;
  heartbeatIntervalMs: number;
  preVote: boolean;
  /** --snapshot-count: applied entries between two snapshots */
  snapshotCount: number;
  /** entries kept in the raft log after a snapshot, for slow followers */
  snapshotCatchUpEntries: number;
  maxWals: number;
  purgeIntervalMs: number;
  log: ServerLogger;
}

export class RaftNode {
  private readonly node: RawNode;
  private readonly boot: RaftBoot;
  private readonly transport: Transport;

  /** raft's term and commit index as last persisted (Ready hard states) */
  term: number;
  commit: number;
  private snapshotIndex: number;
  private snapshotting = false;
  /** applied index at which trimLog looks at the log again */
  private nextTrimAt = 0;

  private pending: Buffer[] = [];
  private proposeScheduled = false;
  private readyRunning = false;
  private readyAgain = false;
  private readyDone: Promise<void> = Promise.resolve();
  private lastSave: Promise<void> = Promise.resolve();
  /** the save of the latest Ready that carried entries or a snapshot (what an apply waits for) */
  private logSaved: Promise<void> = Promise.resolve();
  /** a received snapshot's file + WAL marker being saved; WAL records wait for it */
  private snapshotSaving: Promise<void> | undefined;
  private applyChain: Promise<void> = Promise.resolve();
  private applyingReadies = 0;
  private tickTimer: Ticker | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private purging: Promise<void> | undefined;
  private stopped = false;
  private failed = false;

  constructor(
    boot: RaftBoot,
    applied: number,
    private readonly o: RaftNodeOptions,
    private readonly listener: RaftNodeListener,
    transport: Transport = noPeers,
  ) {
    this.transport = transport;
    this.boot = boot;
    this.term = boot.term;
    this.commit = boot.commit;
    this.snapshotIndex = boot.snapshotIndex;
    this.node = new RawNode({
      id: o.memberId,
      electionTick: o.electionTicks,
      heartbeatTick: 1,
      storage: boot.storage,
      applied,
      checkQuorum: true,
      preVote: o.preVote,
      random: Math.random,
      asyncStorageWrites: true,
    });
  }

  /** Starts ticking (one tick per heartbeat interval) and the purge job. */
  start(): void {
    // on a fixed schedule (a busy loop must not stretch the election timeout)
    this.tickTimer = new Ticker(this.o.heartbeatIntervalMs, () => this.tick());
    this.purgeTimer = setInterval(() => void this.purgeFiles(), this.o.purgeIntervalMs);
    this.purgeTimer.unref();
    this.wake();
  }

  // ---- inputs ----

  /** Queues an encoded proposal; queued proposals go to raft together at the next Ready. */
  propose(data: Buffer): void {
    this.pending.push(data);
    if (!this.proposeScheduled) {
      this.proposeScheduled = true;
      setImmediate(() => {
        this.proposeScheduled = false;
        this.wake();
      });
    }
  }

  /** Asks raft for a read index (throws ErrProposalDropped while there is no leader). */
  readIndex(ctx: Buffer): void {
    this.node.readIndex(ctx);
  }

  /** A raft message from a peer; a message raft refuses is logged and dropped. */
  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.node.step(m);
    } catch (e) {
      this.o.log.warn('failed to process raft message', { error: (e as Error).message, 'message-type': m.type });
      return;
    }
    this.wake();
  }

  reportUnreachable(id: bigint): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    if (this.stopped) return;
    this.node.reportSnapshot(id, ok);
    this.wake();
  }

  transferLeader(id: bigint): void {
    this.node.transferLeader(id);
    this.wake();
  }

  proposeConfChange(cc: ConfChange): void {
    this.node.proposeConfChange(cc);
    this.wake();
  }

  /** An applied ConfChange takes effect in raft. */
  applyConfChange(cc: ConfChange): void {
    this.node.applyConfChange(cc);
  }

  campaign(): void {
    this.node.campaign();
    this.wake();
  }

  /** etcd's advanceTicks: fast-forwards the election clock (initial election tick advance). */
  advanceTicks(n: number): void {
    if (this.stopped) return;
    for (let i = 0; i < n; i++) this.node.tick();
    this.wake();
  }

  status(): Status {
    return this.node.status();
  }

  private tick(): void {
    if (this.stopped) return;
    this.node.tick();
    this.wake();
  }

  // ---- the Ready loop ----

  /** Lets raft process what it was given: runs the Ready loop unless it is running. */
  wake(): void {
    if (this.readyRunning) {
      this.readyAgain = true;
      return;
    }
    this.readyRunning = true;
    this.readyDone = this.runReady().catch((e) => this.fail(e));
  }

  private async runReady(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        this.readyAgain = false;
        this.flushProposals();
        if (!this.node.hasReady()) {
          if (this.readyAgain) continue;
          return;
        }
        this.processReady(this.node.ready());
        // bounded pipeline: at most maxPipelinedReadies Readies wait for their fsync + apply
        if (this.applyingReadies >= maxPipelinedReadies) await this.applyChain;
      }
    } finally {
      this.readyRunning = false;
    }
  }

  private flushProposals(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.node.proposeBatch(batch);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
      const again = this.listener.proposalsDropped(batch);
      if (again.length > 0) this.pending = again.concat(this.pending);
    }
  }

  private processReady(rd: Ready): void {
    const { wal, snapshotter, storage } = this.boot;
    if (rd.softState) this.listener.onSoftState(rd.softState);
    for (const rs of rd.readStates) this.listener.onReadState(rs);
    // these messages promise nothing about this Ready's writes (the leader replicates in
    // parallel with its own fsync); answers wait (below)
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    if (rd.snapshot) {
      // a snapshot from the leader: snap file + WAL marker first, then this Ready's records
      const snap = rd.snapshot;
      const snapSaved = this.lastSave.then(async () => {
        await snapshotter.save(snap);
        await wal.saveSnapshotMarker({ index: snap.metadata.index, term: snap.metadata.term });
      });
      this.snapshotSaving = snapSaved;
      const done = (): void => {
        if (this.snapshotSaving === snapSaved) this.snapshotSaving = undefined;
      };
      snapSaved.then(done, done);
      this.lastSave = snapSaved;
      storage.applySnapshot(snap);
    }
    let saved = this.lastSave;
    if (rd.hardState || rd.entries.length > 0) {
      const t0 = performance.now();
      // records after a snapshot follow its WAL marker (this Ready's, or a later one's: raft
      // moves on before the snapshot is saved)
      const after = this.snapshotSaving;
      saved = after ? after.then(() => wal.save(rd.hardState, rd.entries, rd.mustSync)) : wal.save(rd.hardState, rd.entries, rd.mustSync);
      const onFsync = this.listener.onWalFsync;
      if (rd.mustSync && onFsync !== undefined) saved.then(() => onFsync.call(this.listener, (performance.now() - t0) / 1000), () => undefined);
      this.lastSave = saved;
    }
    if (rd.entries.length > 0) storage.append(rd.entries);
    if (rd.hardState) {
      storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
      this.commit = rd.hardState.commit;
    }
    this.node.advance(rd);
    const durable = saved;
    // The apply waits for the entries it applies to be durable here (the latest save carrying
    // entries or a snapshot), not for a commit-only hard state: that write may sit behind a later
    // batch's fsync, and a commit index ahead of the WAL's after a crash is harmless (the entries
    // up to the backend's consistent index are skipped when re-applied, as in etcd).
    if (rd.entries.length > 0 || rd.snapshot) this.logSaved = saved;
    const entriesDurable = this.logSaved;
    if (entriesDurable !== saved) saved.catch((e) => this.fail(e));
    // durable: append and vote answers go out, and a leader counts its own entries from now
    durable.then(() => {
      if (this.stopped || this.failed) return;
      if (rd.messagesAfterWrite.length > 0) this.transport.send(rd.messagesAfterWrite);
      this.node.persisted(rd);
      this.wake();
    }, () => undefined);
    this.applyingReadies++;
    this.applyChain = this.applyChain
      .then(() => entriesDurable)
      .then(async () => {
        this.applyingReadies--;
        if (this.failed) return;
        await this.listener.apply(rd.snapshot, rd.committedEntries);
        if (rd.snapshot) this.snapshotIndex = Math.max(this.snapshotIndex, rd.snapshot.metadata.index);
        if (this.listener.appliedIndex() - this.snapshotIndex > this.o.snapshotCount && !this.snapshotting) await this.snapshot();
        else this.trimLog();
      })
      .catch((e) => this.fail(e));
  }

  /**
   * Keeps the in-memory raft log short between snapshots. etcd holds every entry since its last
   * snapshot (up to --snapshot-count of them: 100,000 entries of up to --max-request-bytes each);
   * here the entries that are applied and that every follower has are dropped, down to the
   * catch-up tail (--experimental-snapshot-catchup-entries). Entries a lagging follower still
   * needs stay (memory then grows as in etcd, until the next snapshot compacts the log); one that
   * needs an entry no longer held gets a snapshot of the applied state (snapshotAtApplied).
   */
  private trimLog(): void {
    const applied = this.listener.appliedIndex();
    if (applied < this.nextTrimAt) return;
    const tail = this.o.snapshotCatchUpEntries;
    // looked at again once another quarter tail is applied: status() copies the progress map
    this.nextTrimAt = applied + Math.max(1, tail >> 2);
    const { storage } = this.boot;
    const first = storage.firstIndex();
    if (applied - first < 2 * tail) return;
    let keepFrom = applied - tail;
    const progress = this.node.status().progress;
    if (progress !== undefined) for (const [id, p] of progress) if (id !== this.o.memberId && p.match + 1 < keepFrom) keepFrom = p.match + 1;
    const upTo = keepFrom - 1;
    if (upTo < first || upTo <= storage.snapshot().metadata.index) return;
    // raft answers a follower that needs a dropped entry with the stored snapshot, so there must
    // be one at least this far; this in-memory marker is never sent as is (snapshotAtApplied
    // replaces it) nor written to disk
    storage.createSnapshot(upTo, this.node.status().confState, noSnapshotData);
    storage.compact(upTo);
  }

  /**
   * The applied state as a snapshot message's metadata and data (etcd's merged snapshot): index
   * and term of the last applied entry, the membership as applied, the v2 store. Taken before the
   * database copy that goes with it, so the copy holds every entry up to that index; the receiver
   * skips the newer ones the copy already holds by its consistent index.
   */
  snapshotAtApplied(): Snapshot {
    const index = this.listener.appliedIndex();
    return { data: this.listener.snapshotData(), metadata: { index, term: this.boot.storage.term(index), confState: this.node.status().confState } };
  }

  /**
   * etcd's triggerSnapshot: the backend is committed (its consistent index covers the snapshot),
   * a snapshot file + WAL marker are written, the in-memory raft log keeps only a catch-up tail,
   * and WAL segments before the snapshot are released.
   */
  private async snapshot(): Promise<void> {
    const { wal, snapshotter, storage } = this.boot;
    this.snapshotting = true;
    try {
      const index = this.listener.appliedIndex();
      this.o.log.info('triggering snapshot', { 'local-member-id': idToHex(this.o.memberId), 'local-member-applied-index': index, 'local-member-snapshot-index': this.snapshotIndex, 'local-member-snapshot-count': this.o.snapshotCount });
      // (taken before the wait: nothing is applied while a snapshot is being taken)
      const data = this.listener.snapshotData();
      await this.listener.commitBackend();
      const snap = storage.createSnapshot(index, this.node.status().confState, data);
      await snapshotter.save(snap);
      await wal.saveSnapshotMarker({ index, term: snap.metadata.term });
      this.snapshotIndex = index;
      this.o.log.info('saved snapshot', { 'snapshot-index': index });
      const compactIndex = index - this.o.snapshotCatchUpEntries;
      if (compactIndex > 1) {
        // (trimLog may have dropped these entries already: the log is as etcd's would be now)
        if (compactIndex >= storage.firstIndex()) storage.compact(compactIndex);
        this.o.log.info('compacted Raft logs', { 'compact-index': compactIndex });
      }
      // every deleted file is logged, whichever path deletes it (here or the purge job)
      for (const f of await wal.releaseTo(index, this.o.maxWals)) this.o.log.info('purged', { path: join(wal.dir, f) });
    } finally {
      this.snapshotting = false;
    }
  }

  /** etcd's purgeFile job: snapshot files beyond --max-snapshots, released WAL files beyond --max-wals. */
  purgeFiles(): Promise<void> {
    if (this.purging || this.stopped) return this.purging ?? Promise.resolve();
    const { wal, snapshotter } = this.boot;
    this.purging = (async () => {
      try {
        const snaps = await snapshotter.purge();
        const wals = await wal.purge(this.o.maxWals);
        for (const f of snaps) this.o.log.info('purged', { path: join(snapshotter.dir, f) });
        for (const f of wals) this.o.log.info('purged', { path: join(wal.dir, f) });
      } catch (e) {
        this.o.log.warn('failed to purge old files', { error: String(e) });
      } finally {
        this.purging = undefined;
      }
    })();
    return this.purging;
  }

  private fail(e: unknown): void {
    if (this.failed) return; // the first failure is the one reported
    this.failed = true;
    this.listener.onFatal(e);
  }

  /** Stops ticking and taking Readies; lets the Readies in flight finish (their applies land). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.tickTimer?.stop();
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.purging;
    await this.readyDone.catch(() => undefined);
    await this.applyChain.catch(() => undefined);
  }

  /** Closes the WAL (after stop()). */
  async closeWal(): Promise<void> {
    await this.boot.wal.close().catch(() => undefined);
  }
}
