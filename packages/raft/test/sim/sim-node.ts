// One simulated server: durable state (MemoryStorage + what the checker derives from it) that
// survives crashes, and volatile state (the RawNode, the applied state machine) that does not.
// A Ready is handled atomically: persist (= fsync) -> send -> apply -> advance. A crash between
// two steps therefore loses exactly what raft had not yet handed out for persisting, which is
// the "unpersisted suffix" of a real node (a crash mid-Ready is the same as a crash before it:
// nothing of that Ready was fsynced or sent).
import {
  MemoryStorage,
  RawNode,
  EntryType,
  decodeConfChange,
  bootstrapEntries,
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type Snapshot,
} from '../../src/index.js';
import { hashBytes, mix } from './hash.js';
import { Checker, SimFailure } from './checker.js';
import { mulberry32 } from './prng.js';
import type { SendOutcome } from './network.js';

export interface NodeOptions {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxInflightMsgs: number;
  maxSizePerMsg: number;
}

interface SmState {
  index: number;
  digest: number;
  confState: ConfState;
}

function encodeSmSnapshot(index: number, digest: number, chain: number): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeDoubleLE(index, 0);
  b.writeUInt32LE(digest, 8);
  b.writeUInt32LE(chain, 12);
  return b;
}

function decodeSmSnapshot(data: Uint8Array): { index: number; digest: number; chain: number } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { index: b.readDoubleLE(0), digest: b.readUInt32LE(8), chain: b.readUInt32LE(12) };
}

export interface NodeHooks {
  send(m: Message): SendOutcome;
  applied(node: SimNode, data: Uint8Array): void;
  read(node: SimNode, ctx: Uint8Array, index: number): void;
  confChanged(node: SimNode, cc: ConfChange): void;
}

/**
 * MemoryStorage whose snapshot() (called by raft when a follower needs one) is refreshed to the
 * current applied state first, as etcd's server does when it sends MsgSnap: a stale snapshot
 * would not list members added since, and such a follower rejects it.
 */
class SimStorage extends MemoryStorage {
  refresh: (() => void) | undefined;
  override snapshot(): Snapshot {
    this.refresh?.();
    return super.snapshot();
  }
  /** the stored snapshot, without refreshing */
  stored(): Snapshot {
    return super.snapshot();
  }
}

export class SimNode {
  readonly storage = new SimStorage();
  /** chain hash of the persisted log; chains[0] belongs to index storage.firstIndex()-1 */
  private chains: number[] = [0];
  private lastHard: HardState = { term: 0, vote: 0n, commit: 0 };
  raw: RawNode | undefined;
  sm: SmState = { index: 0, digest: 0, confState: { voters: [], learners: [] } };
  incarnation = 0;
  /** joined the cluster (initial member, or started after its addition was applied) */
  joined = false;
  /** removed from the cluster: shut down for good, its id is never reused */
  retired = false;

  constructor(
    readonly id: NodeId,
    private readonly opts: NodeOptions,
    private readonly checker: Checker,
    private readonly hooks: NodeHooks,
  ) {
    this.storage.refresh = () => {
      if (this.raw?.raft.state === 'Leader') this.snapshotNow();
    };
  }

  get up(): boolean {
    return this.raw !== undefined;
  }

  private get chainBase(): number {
    return this.storage.firstIndex() - 1;
  }

  /** Chain hash of the persisted log at i; undefined if compacted, null if beyond the log. */
  chainAt(i: number): number | undefined | null {
    const base = this.chainBase;
    if (i < base) return undefined;
    if (i - base >= this.chains.length) return null;
    return this.chains[i - base];
  }

  bootstrap(peers: NodeId[]): void {
    this.persistEntries(bootstrapEntries(peers));
    this.persistHardState({ term: 1, vote: 0n, commit: peers.length });
  }

  start(seed: number): void {
    if (this.retired) throw new SimFailure(`node ${this.id} was removed and cannot restart`);
    this.joined = true;
    this.incarnation++;
    this.raw = new RawNode({
      id: this.id,
      storage: this.storage,
      random: mulberry32(seed),
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxSizePerMsg: this.opts.maxSizePerMsg,
    });
    // The state machine is volatile: it restarts from the persisted snapshot and replays.
    const snap = this.storage.stored();
    if (snap.metadata.index > 0) {
      const s = decodeSmSnapshot(snap.data);
      this.sm = { index: s.index, digest: s.digest, confState: snap.metadata.confState };
    } else {
      this.sm = { index: 0, digest: 0, confState: { voters: [], learners: [] } };
    }
  }

  crash(): void {
    this.raw = undefined;
  }

  private persistEntries(ents: Ready['entries']): void {
    if (ents.length === 0) return;
    for (const e of ents) {
      const base = this.chainBase;
      if (e.index <= base) continue;
      const pos = e.index - base;
      if (pos > this.chains.length) throw new SimFailure(`node ${this.id}: gap in persisted log at ${e.index}`);
      this.chains.length = pos;
      const c = mix(this.chains[pos - 1], e.term, hashBytes(e.data) ^ e.type);
      this.chains.push(c);
      this.checker.persisted(this.id, e.index, e.term, c);
    }
    this.storage.append(ents);
  }

  private persistHardState(hs: HardState): void {
    const prev = this.lastHard;
    if (hs.term < prev.term) throw new SimFailure(`node ${this.id}: term went back from ${prev.term} to ${hs.term}`);
    if (hs.term === prev.term && prev.vote !== 0n && hs.vote !== prev.vote) {
      throw new SimFailure(`node ${this.id}: changed its vote in term ${hs.term} from ${prev.vote} to ${hs.vote}`);
    }
    if (hs.commit < prev.commit) throw new SimFailure(`node ${this.id}: commit went back from ${prev.commit} to ${hs.commit}`);
    this.lastHard = hs;
    this.storage.setHardState(hs);
    const c = this.chainAt(hs.commit);
    if (c === null) throw new SimFailure(`node ${this.id}: commit ${hs.commit} beyond its persisted log`);
    this.checker.committed(this.id, hs.commit, hs.term, c);
  }

  private persistSnapshot(s: Snapshot): void {
    this.storage.applySnapshot(s);
    const d = decodeSmSnapshot(s.data);
    this.chains = [d.chain];
    this.checker.persisted(this.id, s.metadata.index, s.metadata.term, d.chain);
  }

  /** Handles every pending Ready. Returns snapshot reports to deliver after advance. */
  processReady(): void {
    const raw = this.raw;
    if (raw === undefined) return;
    for (let rounds = 0; raw.hasReady(); rounds++) {
      if (rounds > 50) throw new SimFailure(`node ${this.id}: Ready loop does not converge`);
      const rd = raw.ready();
      this.handle(raw, rd);
    }
  }

  private handle(raw: RawNode, rd: Ready): void {
    // 1. persist
    if (rd.snapshot) this.persistSnapshot(rd.snapshot);
    this.persistEntries(rd.entries);
    if (rd.hardState) this.persistHardState(rd.hardState);
    // 2. send
    const snapReports: { to: NodeId; ok: boolean }[] = [];
    const unreachable = new Set<NodeId>();
    for (const m of rd.messages) {
      const outcome = this.hooks.send(m);
      if (m.snapshot) snapReports.push({ to: m.to, ok: outcome === 'sent' });
      if (outcome === 'unreachable') unreachable.add(m.to);
    }
    // 3. apply
    if (rd.snapshot) {
      const d = decodeSmSnapshot(rd.snapshot.data);
      this.sm = { index: d.index, digest: d.digest, confState: rd.snapshot.metadata.confState };
      this.checker.applied(this.id, d.index, d.digest);
      this.checker.stats.snapshotsInstalled++;
    }
    for (const e of rd.committedEntries) {
      if (e.index !== this.sm.index + 1) throw new SimFailure(`node ${this.id}: applying ${e.index} after ${this.sm.index}`);
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        this.sm.confState = raw.applyConfChange(cc);
        this.hooks.confChanged(this, cc);
      }
      this.sm.digest = mix(this.sm.digest, e.term, hashBytes(e.data) ^ e.type);
      this.sm.index = e.index;
      this.checker.applied(this.id, e.index, this.sm.digest);
      if (e.type === EntryType.Normal && e.data.byteLength > 0) this.hooks.applied(this, e.data);
    }
    for (const rs of rd.readStates) this.hooks.read(this, rs.requestCtx, rs.index);
    raw.advance(rd);
    for (const r of snapReports) raw.reportSnapshot(r.to, r.ok);
    for (const id of unreachable) raw.reportUnreachable(id);
    // 4. checks that need the whole Ready handled
    const st = raw.raft;
    if (rd.softState?.state === 'Leader') {
      this.checker.newLeader(this.id, st.term, this.storage.firstIndex(), (i) => this.chainAt(i) as number | null);
    }
    if (st.state === 'Leader') this.checker.leader(this.id, st.term);
  }

  /** Records a snapshot of the state machine at its applied index (if newer than the stored one). */
  snapshotNow(): void {
    const idx = this.sm.index;
    if (idx <= this.storage.stored().metadata.index) return;
    const chain = this.chainAt(idx);
    if (chain === undefined || chain === null) return;
    this.storage.createSnapshot(idx, this.sm.confState, encodeSmSnapshot(idx, this.sm.digest, chain));
  }

  /** Takes a snapshot of the state machine and compacts the log, keeping `keep` entries. */
  compact(keep: number): void {
    const idx = this.sm.index;
    if (idx <= this.storage.stored().metadata.index) return;
    this.snapshotNow();
    if (this.storage.stored().metadata.index !== idx) return;
    const to = idx - keep;
    const base = this.chainBase;
    if (to <= base) return;
    this.storage.compact(to);
    this.chains = this.chains.slice(to - base);
  }

  /** entries in the persisted log beyond the last snapshot */
  logLength(): number {
    return this.storage.lastIndex() - this.storage.firstIndex() + 1;
  }
}
