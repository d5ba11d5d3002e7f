// Deterministic simulation of a raft cluster under faults, driven by one seed.
//
// Phase 1 (chaos): random message loss, duplication, delay/reordering, partitions (symmetric and
// one-way), crashes and restarts from persisted state, leader transfers, clients proposing and
// reading through random nodes, snapshots + log compaction. Safety is checked after every
// handled Ready (see checker.ts).
// Phase 2 (calm): the network heals, every node restarts. A leader must emerge within a bounded
// number of ticks, new proposals must be applied on every node, new reads must be answered, and
// all state machines must end identical.
import { ConfChangeType, ErrProposalDropped, decodeMessage, type ConfChange, type NodeId } from '../../src/index.js';
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
  /** membership changes applied (beyond the bootstrap entries) */
  confChanges: number;
}

/** Ticks a new leader may take to appear once faults stop (electionTick 10: many election rounds). */
export const LEADER_BOUND_TICKS = 400;
/** Ticks a proposal/read made in the calm phase may take to be applied everywhere / answered. */
export const COMMIT_BOUND_TICKS = 200;
/** Calm-phase clients re-send a request not answered within this many ticks. */
export const CLIENT_RETRY_TICKS = 40;
/** ids beyond the initial members that membership changes may add */
export const SPARE_NODES = 2;

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
  private readonly membershipChanges: boolean;
  private confChangesProposed = 0;
  private readonly confChangeIndexes = new Set<number>();
  private readonly initialNodes: number;
  private readonly toRetire = new Set<NodeId>();
  private readonly toJoin = new Set<NodeId>();
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
    // Some runs also change membership: spare ids join as learners or voters, members leave.
    this.initialNodes = n;
    this.membershipChanges = this.rng.chance(0.5);
    const spares = this.membershipChanges ? SPARE_NODES : 0;
    for (let i = 1; i <= n + spares; i++) {
      const id = BigInt(i);
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
        confChanged: (node, cc) => {
          this.confChangeIndexes.add(node.sm.index + 1); // (sm.index is updated right after this hook)
          if (cc.type === ConfChangeType.RemoveNode) this.toRetire.add(cc.nodeId);
          else if (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode) this.toJoin.add(cc.nodeId);
        },
      });
      if (i <= n) {
        node.bootstrap(ids);
        node.start(this.rng.fork());
      }
      this.nodes.push(node);
    }
  }

  /** nodes currently in the cluster (joined, not removed) */
  private members(): SimNode[] {
    return this.nodes.filter((n) => n.joined && !n.retired);
  }

  private up(): SimNode[] {
    return this.nodes.filter((n) => n.up);
  }

  /**
   * Applies membership effects outside of Ready handling: a removed node shuts down for good (and,
   * like etcd's transport, everybody drops its messages from then on); an added node starts with
   * empty storage and learns the cluster from the leader.
   */
  private settleMembership(): void {
    for (const id of this.toRetire) {
      const n = this.node(id);
      if (n === undefined || n.retired) continue;
      n.retired = true;
      n.crash();
    }
    this.toRetire.clear();
    for (const id of this.toJoin) {
      const n = this.node(id);
      if (n === undefined || n.joined || n.retired) continue;
      n.start(this.rng.fork());
    }
    this.toJoin.clear();
  }

  private proposeConfChange(): void {
    const members = this.members().filter((n) => n.up);
    if (members.length === 0) return;
    const via = this.rng.pick(members);
    const cs = via.sm.confState;
    const inConf = (id: NodeId) => cs.voters.includes(id) || cs.learners.includes(id);
    const candidates: ConfChange[] = [];
    for (const n of this.nodes) {
      if (n.retired) continue;
      if (!inConf(n.id) && !n.joined && cs.voters.length + cs.learners.length < 7) {
        candidates.push({ type: ConfChangeType.AddLearnerNode, nodeId: n.id, context: new Uint8Array(0) });
        candidates.push({ type: ConfChangeType.AddNode, nodeId: n.id, context: new Uint8Array(0) });
      }
    }
    for (const id of cs.learners) {
      candidates.push({ type: ConfChangeType.AddNode, nodeId: id, context: new Uint8Array(0) });
      candidates.push({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
    }
    if (cs.voters.length > 3) for (const id of cs.voters) candidates.push({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
    if (candidates.length === 0) return;
    this.confChangesProposed++;
    try {
      via.raw!.proposeConfChange(this.rng.pick(candidates));
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
    }
  }

  private node(id: NodeId): SimNode | undefined {
    return this.nodes[Number(id) - 1];
  }

  /** One tick of simulated time: deliver, tick clocks, handle Readys. */
  private step(chaos: boolean): void {
    this.now++;
    for (const f of this.net.due(this.now)) {
      const dst = this.node(f.to);
      if (dst === undefined || !dst.up || this.node(f.from)?.retired) continue;
      dst.raw!.step(decodeMessage(f.bytes));
    }
    for (const n of this.nodes) {
      // clock jitter during chaos: a node sometimes misses a tick
      if (n.up && (!chaos || this.rng.chance(0.95))) n.raw!.tick();
    }
    for (const n of this.nodes) n.processReady();
    this.settleMembership();
    for (const n of this.nodes) {
      if (n.up && n.sm.index - n.storage.stored().metadata.index >= this.snapshotEvery) n.compact(this.rng.int(5));
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
      const ids = rng.shuffle(this.members().map((n) => n.id));
      const cut = rng.range(1, ids.length - 1);
      if (rng.chance(0.8)) this.net.partition(ids.slice(0, cut), ids.slice(cut));
      else this.net.cutLink(ids[0], ids[1]);
    } else if (this.net.partitioned && rng.chance(0.03)) {
      this.net.heal();
    }
    for (const n of this.members()) {
      if (n.up && rng.chance(0.004)) {
        n.crash();
        this.crashes++;
      } else if (!n.up && rng.chance(0.05)) {
        n.start(rng.fork());
      }
    }
    if (rng.chance(0.01)) {
      const leader = this.up().find((n) => n.raw!.raft.state === 'Leader');
      if (leader) leader.raw!.transferLeader(rng.pick(this.members()).id);
    }
    if (this.membershipChanges && rng.chance(0.01)) this.proposeConfChange();
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
    const members = this.members();
    for (const n of members) {
      const r = n.raw!.raft;
      if (r.state === 'Leader' && (!leader || r.term > leader.raw!.raft.term)) leader = n;
    }
    if (!leader || leader.raw!.raft.leadTransferee !== 0n) return undefined;
    for (const n of members) if (n.raw!.raft.lead !== leader.id || n.raw!.raft.term !== leader.raw!.raft.term) return undefined;
    return leader;
  }

  /** SIM_DEBUG=1: prints every node's raft status (used when investigating a seed). */
  private dump(): void {
    const j = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x instanceof Map ? [...x] : x));
    for (const n of this.nodes) {
      console.log(`node ${n.id} joined=${n.joined} retired=${n.retired} up=${n.up} sm=${n.sm.index} storage=[${n.storage.firstIndex()},${n.storage.lastIndex()}] snap=${n.storage.stored().metadata.index}`);
      if (n.raw) console.log('  ', j(n.raw.status()));
    }
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
    for (const n of this.members()) if (!n.up) n.start(this.rng.fork());
    const calmStart = this.now;
    let leader: SimNode | undefined;
    while ((leader = this.stableLeader()) === undefined) {
      if (this.now - calmStart > LEADER_BOUND_TICKS && process.env.SIM_DEBUG) this.dump();
      if (this.now - calmStart > LEADER_BOUND_TICKS) throw new SimFailure(`no stable leader ${LEADER_BOUND_TICKS} ticks after faults stopped`);
      this.step(false);
    }
    // Clients in the calm phase: one proposal and one read per node. A request can still be lost
    // silently (e.g. accepted by a leader that is deposed by an in-flight MsgTimeoutNow), so, like
    // a real client, they retry after a timeout; each must succeed within the bound.
    const keys: string[] = [];
    const readKeys: string[] = [];
    for (const n of this.members()) {
      keys.push(this.propose(n));
      readKeys.push(this.read(n));
    }
    const calmProposalsAt = this.now;
    for (;;) {
      const done = keys.every((k) => this.proposals.get(k)!.state === 'committed') && readKeys.every((k) => this.reads.get(k)!.answered);
      const target = this.checker.maxCommitted;
      if (done && this.members().every((n) => n.sm.index >= target)) break;
      if (this.now - calmProposalsAt > COMMIT_BOUND_TICKS) {
        const missing = keys.filter((k) => this.proposals.get(k)!.state !== 'committed');
        const unread = readKeys.filter((k) => !this.reads.get(k)!.answered);
        const lag = this.members().filter((n) => n.sm.index < target).map((n) => `${n.id}@${n.sm.index}`);
        if (process.env.SIM_DEBUG) this.dump();
        throw new SimFailure(`calm phase not done in ${COMMIT_BOUND_TICKS} ticks: uncommitted [${missing}] unanswered reads [${unread}] lagging [${lag}] (target ${target})`);
      }
      if ((this.now - calmProposalsAt) % CLIENT_RETRY_TICKS === CLIENT_RETRY_TICKS - 1) {
        for (const k of keys) {
          const p = this.proposals.get(k)!;
          if (p.state === 'committed') continue;
          p.state = 'pending';
          try {
            this.rng.pick(this.members()).raw!.propose(enc.encode(k));
          } catch (e) {
            if (!(e instanceof ErrProposalDropped)) throw e;
            p.state = 'dropped';
          }
        }
        for (let i = 0; i < readKeys.length; i++) {
          if (!this.reads.get(readKeys[i])!.answered) readKeys[i] = this.read(this.rng.pick(this.members()));
        }
      }
      this.step(false);
    }
    // All replicas identical.
    const d0 = this.members()[0].sm;
    for (const n of this.members()) {
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
      nodes: this.initialNodes,
      confChanges: this.confChangeIndexes.size - this.initialNodes,
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
