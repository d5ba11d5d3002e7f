import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped, EntryType, MemoryStorage, RawNode } from '../src/index.js';
import { enc, dec, handleReady, newTestNode, mulberry32, type TestNode } from './helpers.js';

test('single-node cluster elects itself on ticks and commits proposals through Ready/advance', () => {
  const n = newTestNode(1n, [1n]);
  // First Ready: the bootstrap conf change, already committed.
  assert.ok(n.node.hasReady());
  handleReady(n, n.node.ready());
  assert.deepEqual(n.node.status().confState, { voters: [1n], learners: [] });
  assert.throws(() => n.node.propose(enc('x')), ErrProposalDropped);
  let ticks = 0;
  while (n.node.status().state !== 'Leader') {
    n.node.tick();
    while (n.node.hasReady()) handleReady(n, n.node.ready());
    ticks++;
    assert.ok(ticks < 20, 'elected within 2*electionTick');
  }
  assert.ok(ticks >= 10, `waited at least electionTick (${ticks})`);
  const st = n.node.status();
  assert.equal(st.lead, 1n);
  assert.equal(st.term, 2);
  for (let i = 0; i < 5; i++) n.node.propose(enc(`v${i}`));
  const rd = n.node.ready();
  assert.equal(rd.entries.length, 5);
  assert.deepEqual(rd.committedEntries.map((e) => dec(e.data)).filter(Boolean), ['v0', 'v1', 'v2', 'v3', 'v4']);
  assert.equal(rd.messages.length, 0);
  assert.ok(rd.mustSync);
  handleReady(n, rd);
  assert.equal(n.node.hasReady(), false);
  assert.equal(n.storage.lastIndex(), 7); // 1 conf change + empty leader entry + 5 proposals
  assert.equal(n.node.status().applied, 7);
});

test('single node: campaign() elects immediately; readIndex answers at once', () => {
  const n = newTestNode(1n, [1n]);
  handleReady(n, n.node.ready());
  n.node.campaign();
  const rd = n.node.ready();
  assert.deepEqual(rd.softState, { lead: 1n, state: 'Leader' });
  assert.deepEqual(rd.hardState, { term: 2, vote: 1n, commit: 2 });
  handleReady(n, rd);
  n.node.propose(enc('a'));
  n.node.readIndex(enc('r1'));
  handleReady(n, n.node.ready());
  assert.deepEqual(n.reads, [{ index: 3, ctx: 'r1' }]);
});

test('single node restarts from storage and keeps its log, term and membership', () => {
  const n = newTestNode(1n, [1n]);
  handleReady(n, n.node.ready());
  n.node.campaign();
  handleReady(n, n.node.ready());
  n.node.propose(enc('kept'));
  handleReady(n, n.node.ready());
  // Restart: new RawNode over the same storage; committed entries are replayed from index 1.
  const node = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: n.storage, random: mulberry32(7) });
  const m: TestNode = { ...n, node, applied: [] };
  const rd = node.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.type), [EntryType.ConfChange, EntryType.Normal, EntryType.Normal]);
  handleReady(m, rd);
  assert.equal(dec(m.applied[2].data), 'kept');
  assert.equal(node.status().term, 2);
  for (let i = 0; i < 20 && node.status().state !== 'Leader'; i++) {
    node.tick();
    while (node.hasReady()) handleReady(m, node.ready());
  }
  assert.equal(node.status().state, 'Leader');
  assert.equal(node.status().term, 3);
});

test('restart with Config.applied replays membership without re-applying entries', () => {
  const n = newTestNode(1n, [1n]);
  handleReady(n, n.node.ready());
  n.node.campaign();
  handleReady(n, n.node.ready());
  const node = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: n.storage, random: mulberry32(3), applied: 2 });
  assert.deepEqual(node.status().confState.voters, [1n]);
  assert.equal(node.hasReady(), false);
  node.campaign();
  assert.equal(node.status().state, 'Leader');
});

test('config validation', () => {
  const storage = new MemoryStorage();
  assert.throws(() => new RawNode({ id: 0n, electionTick: 10, heartbeatTick: 1, storage, random: Math.random }), /none as id/);
  assert.throws(() => new RawNode({ id: 1n, electionTick: 1, heartbeatTick: 1, storage, random: Math.random }), /election tick/);
});
