// Pipelined storage writes (Config.asyncStorageWrites): advance() before the writes are durable.
// The contract (raw-node.ts): a leader never counts — acknowledges — its own entry towards the
// commit quorum before it is durable, and a node never answers for (MsgAppResp, votes) state
// that is not durable yet. The last test runs seeded clusters whose writes become durable late
// and whose nodes crash, losing whatever was not durable, and checks that nothing committed is
// ever lost or changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryStorage,
  RawNode,
  MessageType,
  EntryType,
  bootstrapEntries,
  decodeConfChange,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
} from '../src/index.js';
import { enc, mulberry32 } from './helpers.js';

const afterWrite = new Set([MessageType.MsgAppResp, MessageType.MsgVoteResp, MessageType.MsgPreVoteResp, MessageType.MsgVote, MessageType.MsgPreVote]);

/** What a node has made durable: its hard state and log (the storage a crash leaves behind). */
interface Durable {
  hs: HardState;
  log: Entry[];
}

interface PNode {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode;
  durable: Durable;
  /** Readies advanced but not yet durable, oldest first */
  writing: Ready[];
}

function start(id: NodeId, durable: Durable, seed: number): PNode {
  const storage = new MemoryStorage();
  storage.append(durable.log);
  storage.setHardState(durable.hs);
  const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, random: mulberry32(seed), asyncStorageWrites: true });
  return { id, storage, node, durable, writing: [] };
}

function bootDurable(ids: NodeId[]): Durable {
  const log = bootstrapEntries(ids);
  return { hs: { term: 1, vote: 0n, commit: log.length }, log };
}

class Pipeline {
  readonly nodes = new Map<NodeId, PNode>();
  readonly net: Message[] = [];
  /** index -> term of every entry any node was handed as committed */
  readonly committed = new Map<number, number>();

  constructor(readonly ids: NodeId[], private readonly seed: number) {
    for (const id of ids) this.nodes.set(id, start(id, bootDurable(ids), seed + Number(id)));
  }

  /** Takes one Ready: its writes go to the storage (not durable), it is advanced at once. */
  step(n: PNode): void {
    while (n.node.hasReady()) {
      const rd = n.node.ready();
      for (const m of rd.messages) assert.ok(!afterWrite.has(m.type), `${n.id} sends ${MessageType[m.type]} before its write is durable`);
      if (rd.entries.length > 0) n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries) {
        const seen = this.committed.get(e.index);
        assert.ok(seen === undefined || seen === e.term, `entry ${e.index} committed with term ${seen}, now ${e.term} on ${n.id}`);
        this.committed.set(e.index, e.term);
        if (e.type === EntryType.ConfChange) n.node.applyConfChange(decodeConfChange(e.data));
      }
      this.net.push(...rd.messages);
      n.node.advance(rd);
      n.writing.push(rd);
    }
  }

  /** The oldest write of `n` becomes durable: its after-write messages go out, raft learns it. */
  persistOne(n: PNode): void {
    const rd = n.writing.shift();
    if (rd === undefined) return;
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      n.durable.log = n.durable.log.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) n.durable.hs = rd.hardState;
    for (const m of rd.messagesAfterWrite) {
      if (m.type === MessageType.MsgAppResp && !m.reject) {
        const last = n.durable.log[n.durable.log.length - 1]?.index ?? 0;
        assert.ok(last >= m.index, `${n.id} answers for ${m.index} with ${last} durable`);
      }
    }
    this.net.push(...rd.messagesAfterWrite);
    n.node.persisted(rd);
  }

  crash(n: PNode): void {
    const durable = { hs: { ...n.durable.hs }, log: n.durable.log.slice() };
    this.nodes.set(n.id, start(n.id, durable, this.seed * 31 + Number(n.id)));
    // messages to it are lost with the process
    for (let i = this.net.length - 1; i >= 0; i--) if (this.net[i].to === n.id) this.net.splice(i, 1);
  }

  /** The leader's commit index is backed by a quorum of durable logs. */
  checkQuorumDurable(): void {
    for (const n of this.nodes.values()) {
      const st = n.node.status();
      if (st.state !== 'Leader' || st.commit === 0) continue;
      const term = n.storage.term(st.commit);
      let durable = 0;
      for (const o of this.nodes.values()) if (o.durable.log.find((e) => e.index === st.commit)?.term === term) durable++;
      assert.ok(durable >= Math.floor(this.ids.length / 2) + 1, `leader ${n.id} commits ${st.commit} durable on ${durable} of ${this.ids.length}`);
    }
  }
}

test('a follower answers an append only once the entries are durable; the leader counts its own log only once durable', () => {
  const p = new Pipeline([1n, 2n, 3n], 7);
  const [a, b, c] = [1n, 2n, 3n].map((id) => p.nodes.get(id)!);
  const settle = (): void => {
    for (let i = 0; i < 200; i++) {
      for (const n of p.nodes.values()) {
        p.step(n);
        while (n.writing.length > 0) p.persistOne(n);
      }
      const msgs = p.net.splice(0);
      if (msgs.length === 0 && [...p.nodes.values()].every((n) => !n.node.hasReady())) return;
      for (const m of msgs) p.nodes.get(m.to)?.node.step(m);
    }
  };
  settle(); // the bootstrap conf changes are applied
  a.node.campaign();
  settle();
  assert.equal(a.node.status().state, 'Leader');
  const base = a.node.status().commit;

  // the leader proposes; its write stays in flight
  a.node.propose(enc('x'));
  p.step(a);
  const idx = a.storage.lastIndex();
  const apps = p.net.splice(0).filter((m) => m.type === MessageType.MsgApp);
  assert.ok(apps.length === 2, 'the leader replicates before its own write is durable');
  // b receives it: no answer until b's write is durable
  b.node.step(apps.find((m) => m.to === b.id)!);
  p.step(b);
  assert.equal(p.net.filter((m) => m.type === MessageType.MsgAppResp).length, 0, 'a follower answered before persisting');
  p.persistOne(b);
  const resp = p.net.splice(0).filter((m) => m.type === MessageType.MsgAppResp);
  assert.equal(resp.length, 1);
  assert.equal(resp[0].index, idx);
  // b's durable copy alone is not a quorum: the leader's own, still in flight, must not count
  a.node.step(resp[0]);
  p.step(a);
  assert.equal(a.node.status().commit, base, 'the leader committed on the strength of a write that is not durable');
  // the leader's write becomes durable: now it commits
  while (a.writing.length > 0) p.persistOne(a);
  p.step(a);
  assert.equal(a.node.status().commit, idx);
  assert.equal(c.node.status().commit <= idx, true);
});

test('one voter: a proposal commits only after the leader reports it durable', () => {
  const p = new Pipeline([1n], 3);
  const n = p.nodes.get(1n)!;
  p.step(n);
  n.node.campaign();
  p.step(n);
  while (n.writing.length > 0) p.persistOne(n);
  p.step(n);
  assert.equal(n.node.status().state, 'Leader');
  n.node.propose(enc('y'));
  p.step(n);
  const idx = n.storage.lastIndex();
  assert.ok(n.node.status().commit < idx, 'committed before durable');
  for (let i = 0; i < 5; i++) p.step(n);
  assert.ok(n.node.status().commit < idx, 'committed before durable');
  while (n.writing.length > 0) p.persistOne(n);
  p.step(n);
  assert.equal(n.node.status().commit, idx);
  assert.equal(p.committed.get(idx), n.storage.term(idx));
});

test('seeded clusters with late durability and crashes never lose or change a committed entry', () => {
  const seeds = Number(process.env.ASYNC_SEEDS ?? 60);
  const only = process.env.SEED !== undefined ? Number(process.env.SEED) : undefined;
  for (let seed = only ?? 1; seed <= (only ?? seeds); seed++) {
    const rnd = mulberry32(seed);
    const ids = rnd() < 0.5 ? [1n, 2n, 3n] : [1n, 2n, 3n, 4n, 5n];
    const p = new Pipeline(ids, seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    try {
      for (let step = 0; step < 3000; step++) {
        const r = rnd();
        const n = pick([...p.nodes.values()]);
        if (r < 0.15) n.node.tick();
        else if (r < 0.35) {
          if (n.node.status().state === 'Leader') n.node.propose(enc(`${seed}-${step}`));
        } else if (r < 0.6) p.persistOne(n);
        else if (r < 0.995) {
          if (p.net.length > 0) {
            // deliver one message (out of order now and then), or lose it
            const i = rnd() < 0.8 ? 0 : Math.floor(rnd() * p.net.length);
            const [m] = p.net.splice(i, 1);
            if (rnd() > 0.02) p.nodes.get(m.to)?.node.step(m);
          }
        } else p.crash(n);
        for (const x of p.nodes.values()) p.step(x);
        p.checkQuorumDurable();
      }
    } catch (e) {
      (e as Error).message = `seed ${seed} (SEED=${seed} replays): ${(e as Error).message}`;
      throw e;
    }
    assert.ok(p.committed.size > ids.length, `seed ${seed}: the cluster made progress`);
  }
});
