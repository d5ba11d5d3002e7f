import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  type Entry,
} from '../src/index.js';
import { Cluster, enc, handleReady, mulberry32, normalData } from './helpers.js';

const ent = (index: number, term: number, data = ''): Entry => ({ index, term, type: EntryType.Normal, data: enc(data) });

test('MemoryStorage: entries, terms, compaction and snapshot errors', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 2, 'c'), ent(4, 2, 'd')]);
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 4);
  assert.deepEqual(s.entries(2, 4, Infinity).map((e) => e.index), [2, 3]);
  assert.deepEqual(s.entries(1, 5, 1).map((e) => e.index), [1], 'byte limit keeps at least one entry');
  assert.equal(s.term(3), 2);
  assert.throws(() => s.term(5), ErrUnavailable);
  // overwrite a suffix
  s.append([ent(3, 3, 'x')]);
  assert.equal(s.lastIndex(), 3);
  assert.equal(s.term(3), 3);
  const snap = s.createSnapshot(2, { voters: [1n], learners: [] }, enc('state@2'));
  assert.equal(snap.metadata.term, 1);
  assert.throws(() => s.createSnapshot(2, undefined, enc('')), ErrSnapOutOfDate);
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.term(2), 1, 'term of the compaction point stays known');
  assert.throws(() => s.term(1), ErrCompacted);
  assert.throws(() => s.entries(2, 3, Infinity), ErrCompacted);
  assert.throws(() => s.compact(2), ErrCompacted);
  assert.throws(() => s.applySnapshot(snap), ErrSnapOutOfDate);
  assert.equal(s.initialState().confState.voters[0], 1n);
  const empty = new MemoryStorage();
  assert.throws(() => empty.entries(1, 1, 10), ErrUnavailable);
});

test('a follower too far behind gets a snapshot, installs it, then follows the log', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  c.down.add(3n);
  for (let i = 0; i < 20; i++) c.get(1n).node.propose(enc(`v${i}`));
  c.settle();
  // the leader snapshots and compacts its log past what 3 has
  const l = c.get(1n);
  const applied = l.node.status().applied;
  l.storage.createSnapshot(applied, l.node.status().confState, enc(`sm@${applied}`));
  l.storage.compact(applied);
  let snaps = 0;
  c.onDeliver = (m) => {
    if (m.type === MessageType.MsgSnap) snaps++;
    return m;
  };
  c.down.delete(3n);
  c.tickAll(3);
  assert.equal(snaps, 1);
  const f = c.get(3n);
  assert.equal(f.storage.snapshot().metadata.index, applied);
  assert.equal(new TextDecoder().decode(f.storage.snapshot().data), `sm@${applied}`);
  assert.equal(f.node.status().applied, applied);
  assert.equal(c.get(1n).node.status().progress!.get(3n)!.state, 'Replicate');
  c.get(1n).node.propose(enc('after'));
  c.settle();
  assert.deepEqual(normalData(f), ['after'], 'entries after the snapshot arrive as log');
  assert.equal(f.node.status().commit, l.node.status().commit);
});

test('a failed snapshot send is retried after reportSnapshot(id, false)', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  c.down.add(3n);
  for (let i = 0; i < 5; i++) c.get(1n).node.propose(enc(`v${i}`));
  c.settle();
  const l = c.get(1n);
  l.storage.createSnapshot(l.node.status().applied, l.node.status().confState, enc('s'));
  l.storage.compact(l.node.status().applied);
  c.down.delete(3n);
  let drop = true;
  let snaps = 0;
  c.onDeliver = (m) => {
    if (m.type !== MessageType.MsgSnap) return m;
    snaps++;
    return drop ? undefined : m;
  };
  c.tickAll(2);
  assert.equal(l.node.status().progress!.get(3n)!.state, 'Snapshot');
  assert.equal(snaps, 1);
  c.tickAll(3);
  assert.equal(snaps, 1, 'paused while the snapshot is in flight');
  l.node.reportSnapshot(3n, false);
  assert.equal(l.node.status().progress!.get(3n)!.state, 'Probe');
  drop = false;
  c.tickAll(3);
  assert.equal(snaps, 2);
  assert.equal(c.get(3n).storage.snapshot().metadata.index, l.storage.snapshot().metadata.index);
});

test('a node restarts from snapshot + log: state from the snapshot, entries after it replayed', () => {
  const storage = new MemoryStorage();
  const cs = { voters: [1n], learners: [] };
  storage.applySnapshot({ data: enc('snap'), metadata: { index: 10, term: 2, confState: cs } });
  storage.append([ent(11, 2, 'a'), ent(12, 3, 'b'), ent(13, 3, 'c')]);
  storage.setHardState({ term: 3, vote: 1n, commit: 12 });
  const node = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage, random: mulberry32(1) });
  const st = node.status();
  assert.equal(st.commit, 12);
  assert.equal(st.applied, 10);
  assert.deepEqual(st.confState, cs);
  const rd = node.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [11, 12]);
  assert.equal(rd.snapshot, undefined);
  const n = { id: 1n, storage, node, applied: [] as Entry[], reads: [] };
  handleReady(n, rd);
  node.campaign();
  while (node.hasReady()) handleReady(n, node.ready());
  assert.equal(node.status().state, 'Leader');
  assert.deepEqual(normalData(n), ['a', 'b', 'c']);
  assert.throws(() => new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage, random: mulberry32(1), applied: 5 }), /older than the storage snapshot/);
});
