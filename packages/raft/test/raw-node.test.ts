import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrStepLocalMsg, MessageType, newMessage } from '../src/index.js';
import { Cluster, enc, handleReady, newTestNode, normalData } from './helpers.js';

test('Ready carries softState/hardState only when they changed; mustSync only for term/vote/entries', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  const f = c.get(2n);
  c.get(1n).node.campaign();
  c.settle();
  assert.equal(f.node.hasReady(), false);
  // a new entry: follower must persist it (mustSync), hardState unchanged until commit
  c.get(1n).node.propose(enc('a'));
  const lrd = c.get(1n).node.ready();
  assert.equal(lrd.softState, undefined);
  assert.equal(lrd.hardState, undefined, 'leader term/vote/commit unchanged');
  assert.equal(lrd.entries.length, 1);
  assert.equal(lrd.mustSync, true);
  handleReady(c.get(1n), lrd);
  for (const m of lrd.messages) c.get(m.to).node.step(m);
  const frd = f.node.ready();
  assert.equal(frd.entries.length, 1);
  assert.equal(frd.mustSync, true);
  handleReady(f, frd);
  for (const m of frd.messages) c.get(m.to).node.step(m); // the ack: the leader commits
  const l2 = c.get(1n).node.ready();
  assert.equal(l2.hardState?.commit, lrd.entries[0].index);
  assert.equal(l2.mustSync, false, 'only the commit index changed');
  handleReady(c.get(1n), l2);
  for (const m of l2.messages) if (m.to === 2n) f.node.step(m);
  const f2 = f.node.ready();
  assert.equal(f2.hardState?.commit, lrd.entries[0].index);
  assert.equal(f2.entries.length, 0);
  assert.equal(f2.mustSync, false);
  handleReady(f, f2);
  assert.deepEqual(normalData(f), ['a']);
});

test('softState reports leader changes', () => {
  const n = newTestNode(1n, [1n]);
  const first = n.node.ready();
  assert.equal(first.softState, undefined, 'initial follower state is not a change');
  handleReady(n, first);
  n.node.campaign();
  const rd = n.node.ready();
  assert.deepEqual(rd.softState, { lead: 1n, state: 'Leader' });
  handleReady(n, rd);
  n.node.propose(enc('x'));
  assert.equal(n.node.ready().softState, undefined);
});

test('proposeBatch appends many entries in one step, in order', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  c.get(1n).node.proposeBatch(Array.from({ length: 100 }, (_, i) => enc(`b${i}`)));
  const rd = c.get(1n).node.ready();
  assert.equal(rd.entries.length, 100);
  assert.equal(rd.messages.filter((m) => m.type === MessageType.MsgApp).length, 2, 'one MsgApp per follower');
  handleReady(c.get(1n), rd);
  for (const m of rd.messages) c.get(m.to).node.step(m);
  c.settle();
  for (const n of c.nodes.values()) assert.equal(normalData(n).length, 100);
});

test('step rejects local-only message types and ignores responses from unknown peers', () => {
  const n = newTestNode(1n, [1n, 2n, 3n]);
  handleReady(n, n.node.ready());
  for (const t of [MessageType.MsgHup, MessageType.MsgBeat, MessageType.MsgUnreachable, MessageType.MsgSnapStatus, MessageType.MsgCheckQuorum]) {
    assert.throws(() => n.node.step(newMessage(t, 1n, { from: 2n })), ErrStepLocalMsg);
  }
  n.node.step(newMessage(MessageType.MsgAppResp, 1n, { from: 9n, term: 5 }));
  assert.equal(n.node.status().term, 1, 'response from a non-member did not bump the term');
});

test('maxCommittedSizePerReady splits a large backlog of committed entries over several Readys', () => {
  const n = newTestNode(1n, [1n], { maxCommittedSizePerReady: 400 });
  handleReady(n, n.node.ready());
  n.node.campaign();
  handleReady(n, n.node.ready());
  n.node.proposeBatch(Array.from({ length: 20 }, () => new Uint8Array(100)));
  const sizes: number[] = [];
  while (n.node.hasReady()) {
    const rd = n.node.ready();
    sizes.push(rd.committedEntries.length);
    handleReady(n, rd);
  }
  assert.ok(sizes.length >= 5, `${sizes}`);
  assert.ok(sizes.every((k) => k >= 1 && k <= 3), `${sizes}`); // 121 bytes each, 400 bytes max
  assert.equal(sizes.reduce((a, b) => a + b, 0), 20);
});
