// Test helpers: a deterministic PRNG and a tiny in-process cluster that delivers messages
// directly (no faults). The fault-injecting simulator lives in ./sim/.
import {
  MemoryStorage,
  RawNode,
  bootstrap,
  decodeConfChange,
  EntryType,
  type Config,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
} from '../src/index.js';

// one seeded PRNG for every raft test: the simulator's
import { mulberry32 } from './sim/prng.js';
export { mulberry32 };

export interface TestNode {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode;
  applied: Entry[];
  /** read states received, in order */
  reads: { index: number; ctx: string }[];
}

/** Persists a Ready into MemoryStorage, applies committed entries (conf changes included), advances. */
export function handleReady(n: TestNode, rd: Ready): Message[] {
  if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
  n.storage.append(rd.entries);
  if (rd.hardState) n.storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    if (e.type === EntryType.ConfChange) n.node.applyConfChange(decodeConfChange(e.data));
    n.applied.push(e);
  }
  for (const rs of rd.readStates) n.reads.push({ index: rs.index, ctx: Buffer.from(rs.requestCtx).toString() });
  n.node.advance(rd);
  return rd.messages;
}

export function newTestNode(id: NodeId, peers: NodeId[], over: Partial<Config> = {}, seed = Number(id)): TestNode {
  const storage = new MemoryStorage();
  if (peers.length > 0) bootstrap(storage, peers);
  const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, random: mulberry32(seed), ...over });
  return { id, storage, node, applied: [], reads: [] };
}

/** A fault-free cluster: messages are delivered in order; `cut` drops messages between pairs. */
export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  readonly cut = new Set<string>();
  readonly down = new Set<NodeId>();
  /** observer for every delivered message */
  onDeliver: ((m: Message) => Message | undefined) | undefined;

  constructor(ids: NodeId[], over: Partial<Config> = {}) {
    for (const id of ids) this.nodes.set(id, newTestNode(id, ids, over));
  }

  add(n: TestNode): void {
    this.nodes.set(n.id, n);
  }

  get(id: NodeId): TestNode {
    return this.nodes.get(id)!;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Processes every Ready and delivers messages until quiet (or maxRounds). */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let msgs: Message[] = [];
      for (const n of this.nodes.values()) {
        if (this.down.has(n.id)) continue;
        while (n.node.hasReady()) msgs = msgs.concat(handleReady(n, n.node.ready()));
      }
      if (msgs.length === 0) return;
      for (let m of msgs) {
        if (this.cut.has(`${m.from}-${m.to}`) || this.down.has(m.to)) continue;
        const dst = this.nodes.get(m.to);
        if (!dst) continue;
        if (this.onDeliver) {
          const r = this.onDeliver(m);
          if (r === undefined) continue;
          m = r;
        }
        dst.node.step(m);
      }
    }
    throw new Error('cluster did not settle');
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) if (!this.down.has(node.id)) node.node.tick();
      this.settle();
    }
  }

  leader(): TestNode | undefined {
    const ls = [...this.nodes.values()].filter((n) => !this.down.has(n.id) && n.node.status().state === 'Leader');
    if (ls.length === 0) return undefined;
    // the one with the highest term (a stale leader may still think it leads)
    return ls.reduce((a, b) => (b.node.status().term > a.node.status().term ? b : a));
  }

  /** Ticks until some node is leader. */
  electLeader(maxTicks = 200): TestNode {
    for (let t = 0; t < maxTicks; t++) {
      const l = this.leader();
      if (l) return l;
      this.tickAll();
    }
    throw new Error('no leader elected');
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
export const normalData = (n: TestNode): string[] => n.applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0).map((e) => dec(e.data));
