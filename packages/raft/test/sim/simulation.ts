// Deterministic simulation of a raft cluster under faults, driven by one seed.
//
// Phase 1 (chaos): random message loss, duplication, delay/reordering, partitions (symmetric and
// one-way), crashes and restarts from persisted state, leader transfers, clients proposing and
// reading through random nodes, snapshots + log compaction. Safety is checked after every
// handled Ready (see checker.ts).
// Phase 2 (calm): the network heals, every node restarts. A leader must emerge within a bounded
// number of ticks, new proposals must be applied on every node, new reads must be answered, and
// all state machines must end identical.
import { ErrProposalDropped, decodeMessage, type NodeId } from '../../src/index.js';
import { Checker, SimFailure } from './checker.js';
import { Network, RELIABLE } from './network.js';
import { Rng } from './prng.js';
import { SimNode, type NodeOptions } from './sim-node.js';

export interface SimOptions {
  /** override the node count chosen from the seed (3 or 5) */
  nodes?: number;
  chaosTicks?: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  ticks: number;
  proposals: number;
  committed: number;
  dropped: number;
  reads: number;
  leaders: number;
  crashes: number;
  snapshotsInstalled: number;
  messages: number;
}

/** Ticks a new leader may take to appear once faults stop (electionTick 10: many election rounds). */
export const LEADER_BOUND_TICKS = 400;
/** Ticks a proposal/read made in the calm phase may take to be applied everywhere / answered. */
export const COMMIT_BOUND_TICKS = 200;
/** Calm-phase clients re-send a request not answered within this many ticks. */
export const CLIENT_RETRY_TICKS = 40;

export function replayCommand(seed: number): string {
  return `SEED=${seed} node --import tsx --test packages/raft/test/sim.test.ts`;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function runSeed(seed: number, options: SimOptions = {}): SimResult {
  try {
    return new Simulation(seed, options).run();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const err = new SimFailure(`seed ${seed}: ${msg}\n  replay: ${replayCommand(seed)}`);
    if (e instanceof Error && !(e instanceof SimFailure)) err.stack = `${err.message}\n${e.stack}`;
    throw err;
  }
}

interface Proposal {
  issuedAt: number;
  state: 'pending' | 'committed' | 'dropped';
}

interface PendingRead {
  node: NodeId;
  issuedAt: number;
  ackedAtIssue: number;
  answered: boolean;
}

class Simulation {
  private readonly rng: Rng;
  private readonly checker = new Checker();
  private readonly net: Network;
  private readonly nodes: SimNode[] = [];
  private now = 0;
  private readonly proposals = new Map<string, Proposal>();
  private readonly reads = new Map<string, PendingRead>();
  private nextProposal = 0;
  private nextRead = 0;
  private crashes = 0;
  private readonly chaosTicks: number;
  private readonly snapshotEvery: number;

  constructor(
    private readonly seed: number,
    options: SimOptions,
  ) {
    this.rng = new Rng(seed);
    this.net = new Network(new Rng(this.rng.fork()));
    const n = options.nodes ?? (this.rng.chance(0.6) ? 3 : 5);
    this.chaosTicks = options.chaosTicks ?? this.rng.range(150, 350);
    this.snapshotEvery = this.rng.range(8, 40);
    const opts: NodeOptions = {
      electionTick: 10,
      heartbeatTick: this.rng.pick([1, 2, 3]),
      // mostly the production setting, sometimes the bare algorithm
      preVote: this.rng.chance(0.8),
      checkQuorum: this.rng.chance(0.8),
      maxInflightMsgs: this.rng.pick([1, 2, 4, 16, 256]),
      maxSizePerMsg: this.rng.pick([30, 100, 1024 * 1024]),
    };
    const ids: NodeId[] = [];
    for (let i = 1; i <= n; i++) ids.push(BigInt(i));
    for (const id of ids) {
      const node = new SimNode(id, opts, this.checker, {
        send: (m) => this.net.send(this.now, m),
        applied: (_node, data) => {
          const p = this.proposals.get(dec.decode(data));
          if (p && p.state === 'pending') p.state = 'committed';
        },
        read: (node, ctx, index) => {
          const key = dec.decode(ctx);
          const r = this.reads.get(key);
          if (r === undefined) throw new SimFailure(`node ${node.id}: read state for unknown ctx ${key}`);
          this.checker.readAnswered(node.id, key, index, r.ackedAtIssue);
          r.answered = true;
        },
      });
      node.bootstrap(ids);
      node.start(this.rng.fork());
      this.nodes.push(node);
    }
  }

  private up(): SimNode[] {
    return this.nodes.filter((n) => n.up);
  }

  private node(id: NodeId): SimNode {
    return this.nodes[Number(id) - 1];
  }

  /** One tick of simulated time: deliver, tick clocks, handle Readys. */
  private step(chaos: boolean): void {
    this.now++;
    for (const f of this.net.due(this.now)) {
      const dst = this.node(f.to);
      if (!dst.up) continue;
      dst.raw!.step(decodeMessage(f.bytes));
    }
    for (const n of this.nodes) {
      // clock jitter during chaos: a node sometimes misses a tick
      if (n.up && (!chaos || this.rng.chance(0.95))) n.raw!.tick();
    }
    for (const n of this.nodes) n.processReady();
    for (const n of this.nodes) {
      if (n.up && n.sm.index - n.storage.snapshot().metadata.index >= this.snapshotEvery) n.compact(this.rng.int(5));
    }
  }

  private propose(via: SimNode): string {
    const key = `p${this.nextProposal++}`;
    const p: Proposal = { issuedAt: this.now, state: 'pending' };
    this.proposals.set(key, p);
    try {
      via.raw!.propose(enc.encode(key));
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
      p.state = "dropped";
      if (process.env.SIM_DEBUG) console.log(`t=${this.now} drop ${key} via ${via.id}: ${(e as Error).message}`);
    }
    return key;
  }

  private read(via: SimNode): string {
    const key = `r${this.nextRead++}`;
    // Everything applied anywhere so far is acknowledged to some client: the read must see it.
    this.reads.set(key, { node: via.id, issuedAt: this.now, ackedAtIssue: this.checker.maxApplied, answered: false });
    try {
      via.raw!.readIndex(enc.encode(key));
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
    }
    return key;
  }

  private injectFaults(): void {
    const rng = this.rng;
    if (rng.chance(0.02)) {
      this.net.faults = {
        dropRate: rng.pick([0, 0.01, 0.05, 0.2]),
        duplicateRate: rng.pick([0, 0.02, 0.1]),
        maxDelayTicks: rng.pick([0, 1, 3, 8]),
      };
    }
    if (!this.net.partitioned && rng.chance(0.02)) {
      const ids = rng.shuffle(this.nodes.map((n) => n.id));
      const cut = rng.range(1, ids.length - 1);
      if (rng.chance(0.8)) this.net.partition(ids.slice(0, cut), ids.slice(cut));
      else this.net.cutLink(ids[0], ids[1]);
    } else if (this.net.partitioned && rng.chance(0.03)) {
      this.net.heal();
    }
    for (const n of this.nodes) {
      if (n.up && rng.chance(0.004)) {
        n.crash();
        this.crashes++;
      } else if (!n.up && rng.chance(0.05)) {
        n.start(rng.fork());
      }
    }
    if (rng.chance(0.01)) {
      const leader = this.up().find((n) => n.raw!.raft.state === 'Leader');
      if (leader) leader.raw!.transferLeader(rng.pick(this.nodes).id);
    }
  }

  private clients(rate: number): void {
    const up = this.up();
    if (up.length === 0) return;
    if (this.rng.chance(rate)) this.propose(this.rng.pick(up));
    if (this.rng.chance(rate / 3)) this.read(this.rng.pick(up));
  }

  /** A leader that every node follows, at the highest term. */
  private stableLeader(): SimNode | undefined {
    let leader: SimNode | undefined;
    for (const n of this.nodes) {
      const r = n.raw!.raft;
      if (r.state === 'Leader' && (!leader || r.term > leader.raw!.raft.term)) leader = n;
    }
    if (!leader || leader.raw!.raft.leadTransferee !== 0n) return undefined;
    for (const n of this.nodes) if (n.raw!.raft.lead !== leader.id || n.raw!.raft.term !== leader.raw!.raft.term) return undefined;
    return leader;
  }

  run(): SimResult {
    const busy = this.rng.pick([0.1, 0.3, 0.6]);
    for (let t = 0; t < this.chaosTicks; t++) {
      this.injectFaults();
      this.clients(busy);
      this.step(true);
    }
    // Calm phase.
    this.net.heal();
    this.net.faults = RELIABLE;
    for (const n of this.nodes) if (!n.up) n.start(this.rng.fork());
    const calmStart = this.now;
    let leader: SimNode | undefined;
    while ((leader = this.stableLeader()) === undefined) {
      if (this.now - calmStart > LEADER_BOUND_TICKS) throw new SimFailure(`no stable leader ${LEADER_BOUND_TICKS} ticks after faults stopped`);
      this.step(false);
    }
    // Clients in the calm phase: one proposal and one read per node. A request can still be lost
    // silently (e.g. accepted by a leader that is deposed by an in-flight MsgTimeoutNow), so, like
    // a real client, they retry after a timeout; each must succeed within the bound.
    const keys: string[] = [];
    const readKeys: string[] = [];
    for (const n of this.nodes) {
      keys.push(this.propose(n));
      readKeys.push(this.read(n));
    }
    const calmProposalsAt = this.now;
    for (;;) {
      const done = keys.every((k) => this.proposals.get(k)!.state === 'committed') && readKeys.every((k) => this.reads.get(k)!.answered);
      const target = this.checker.maxCommitted;
      if (done && this.nodes.every((n) => n.sm.index >= target)) break;
      if (this.now - calmProposalsAt > COMMIT_BOUND_TICKS) {
        const missing = keys.filter((k) => this.proposals.get(k)!.state !== 'committed');
        const unread = readKeys.filter((k) => !this.reads.get(k)!.answered);
        const lag = this.nodes.filter((n) => n.sm.index < target).map((n) => `${n.id}@${n.sm.index}`);
        throw new SimFailure(`calm phase not done in ${COMMIT_BOUND_TICKS} ticks: uncommitted [${missing}] unanswered reads [${unread}] lagging [${lag}] (target ${target})`);
      }
      if ((this.now - calmProposalsAt) % CLIENT_RETRY_TICKS === CLIENT_RETRY_TICKS - 1) {
        for (const k of keys) {
          const p = this.proposals.get(k)!;
          if (p.state === 'committed') continue;
          p.state = 'pending';
          try {
            this.rng.pick(this.nodes).raw!.propose(enc.encode(k));
          } catch (e) {
            if (!(e instanceof ErrProposalDropped)) throw e;
            p.state = 'dropped';
          }
        }
        for (let i = 0; i < readKeys.length; i++) {
          if (!this.reads.get(readKeys[i])!.answered) readKeys[i] = this.read(this.rng.pick(this.nodes));
        }
      }
      this.step(false);
    }
    // All replicas identical.
    const d0 = this.nodes[0].sm;
    for (const n of this.nodes) {
      if (n.sm.index !== d0.index || n.sm.digest !== d0.digest) throw new SimFailure(`replicas diverge at the end: ${n.id}@${n.sm.index}`);
    }
    let committed = 0;
    let dropped = 0;
    for (const p of this.proposals.values()) {
      if (p.state === 'committed') committed++;
      else if (p.state === 'dropped') dropped++;
    }
    return {
      seed: this.seed,
      nodes: this.nodes.length,
      ticks: this.now,
      proposals: this.proposals.size,
      committed,
      dropped,
      reads: this.checker.stats.reads,
      leaders: this.checker.stats.leaders,
      crashes: this.crashes,
      snapshotsInstalled: this.checker.stats.snapshotsInstalled,
      messages: this.net.sent,
    };
  }
}
