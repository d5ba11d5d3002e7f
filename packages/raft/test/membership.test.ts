import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeType, EntryType, MessageType, decodeConfChange, type NodeId } from '../src/index.js';
import { Cluster, enc, newTestNode, normalData } from './helpers.js';

const cc = (type: ConfChangeType, nodeId: NodeId) => ({ type, nodeId, context: enc(`member-${nodeId}`) });

function started(ids: bigint[]): Cluster {
  const c = new Cluster(ids);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  return c;
}

/** A node joining an existing cluster: empty storage, learns the configuration from the log. */
function join(c: Cluster, id: NodeId): void {
  c.add(newTestNode(id, []));
}

function commitWorks(c: Cluster, tag: string): boolean {
  const l = c.leader()!;
  const before = l.node.status().commit;
  l.node.propose(enc(tag));
  c.tickAll(3);
  return l.node.status().commit > before;
}

test('add a voter: it catches up from the log and counts for the quorum', () => {
  const c = started([1n, 2n, 3n]);
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
  c.settle();
  assert.deepEqual(c.get(1n).node.status().confState.voters, [1n, 2n, 3n, 4n]);
  join(c, 4n);
  c.get(1n).node.propose(enc('hello'));
  c.tickAll(5);
  assert.deepEqual(c.get(4n).node.status().confState.voters, [1n, 2n, 3n, 4n]);
  assert.deepEqual(normalData(c.get(4n)), ['hello']);
  // 4 voters: quorum is 3. With 2 and 3 down, 1 and 4 cannot commit.
  c.down.add(2n);
  c.down.add(3n);
  assert.equal(commitWorks(c, 'two-of-four'), false);
  c.down.delete(3n);
  c.tickAll(3);
  assert.equal(commitWorks(c, 'three-of-four'), true);
});

test('remove a voter: the quorum shrinks; a removed leader steps down and refuses proposals', () => {
  const c = started([1n, 2n, 3n]);
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 3n));
  c.settle();
  c.down.add(3n);
  assert.deepEqual(c.get(1n).node.status().confState.voters, [1n, 2n]);
  assert.equal(commitWorks(c, 'two-of-two'), true);
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 1n));
  c.settle();
  assert.deepEqual(c.get(2n).node.status().confState.voters, [2n]);
  assert.equal(c.get(1n).node.status().state, 'Follower', 'the removed leader stepped down');
  assert.throws(() => c.get(1n).node.propose(enc('x')), { code: 'ProposalDropped' });
  // 2 alone elects itself
  c.down.add(1n);
  c.tickAll(25);
  assert.equal(c.get(2n).node.status().state, 'Leader');
});

test('learners receive the log but never campaign and do not count for the quorum', () => {
  const c = started([1n, 2n, 3n]);
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
  c.settle();
  join(c, 4n);
  c.get(1n).node.propose(enc('to-learner'));
  c.tickAll(5);
  const l = c.get(4n);
  assert.deepEqual(l.node.status().confState, { voters: [1n, 2n, 3n], learners: [4n] });
  assert.deepEqual(normalData(l), ['to-learner']);
  assert.equal(c.get(1n).node.status().progress!.get(4n)!.isLearner, true);
  // leader + learner are not a quorum of the 3 voters
  c.down.add(2n);
  c.down.add(3n);
  assert.equal(commitWorks(c, 'leader+learner'), false);
  // the learner never campaigns, however long it waits
  c.down.add(1n);
  c.tickAll(100);
  assert.equal(l.node.status().state, 'Follower');
  l.node.campaign();
  assert.equal(l.node.status().state, 'Follower');
});

test('promote a learner with AddNode; demoting a voter to learner is ignored', () => {
  const c = started([1n, 2n, 3n]);
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
  c.settle();
  join(c, 4n);
  c.tickAll(3);
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
  c.tickAll(3);
  for (const n of c.nodes.values()) assert.deepEqual(n.node.status().confState, { voters: [1n, 2n, 3n, 4n], learners: [] });
  c.get(1n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 2n));
  c.tickAll(3);
  assert.deepEqual(c.get(1n).node.status().confState, { voters: [1n, 2n, 3n, 4n], learners: [] });
  // 4 now votes: with 1 down, {2,3,4} elect a leader
  c.down.add(1n);
  c.tickAll(60);
  assert.ok(c.leader() && c.leader()!.id !== 1n);
});

test('one change at a time: a second conf change proposed before the first is applied becomes an empty entry', () => {
  const c = started([1n, 2n, 3n]);
  const l = c.get(1n);
  l.node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
  l.node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5n));
  c.settle();
  const changes = l.applied.filter((e) => e.type === EntryType.ConfChange && e.index > 3).map((e) => decodeConfChange(e.data).nodeId);
  assert.deepEqual(changes, [4n]);
  const last = l.applied.at(-1)!;
  assert.equal(last.type, EntryType.Normal);
  assert.equal(last.data.byteLength, 0);
  assert.deepEqual(l.node.status().confState.learners, [4n]);
  // once applied, the next change is accepted
  l.node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5n));
  c.settle();
  assert.deepEqual(l.node.status().confState.learners, [4n, 5n]);
});

test('a new leader accepts no conf change until an entry of its own term is applied', () => {
  const c = started([1n, 2n, 3n]);
  // 2 wins the election but its appends are held back: its empty entry is not committed yet
  c.onDeliver = (m) => (m.from === 2n && m.type === MessageType.MsgApp ? undefined : m);
  c.get(2n).node.campaign();
  c.settle();
  assert.equal(c.get(2n).node.status().state, 'Leader');
  c.get(2n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 9n));
  c.onDeliver = undefined;
  c.tickAll(3);
  assert.ok(c.get(2n).node.status().applied > c.get(2n).storage.firstIndex());
  assert.deepEqual(c.get(2n).node.status().confState.learners, []);
});
