import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeType, ErrProposalDropped, MessageType } from '../src/index.js';
import { Cluster, enc, newTestNode, normalData } from './helpers.js';

function started(over = {}): Cluster {
  const c = new Cluster([1n, 2n, 3n], over);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  return c;
}

test('transfer to a caught-up follower: MsgTimeoutNow, it wins the next term (even under check-quorum leases)', () => {
  const c = started({ checkQuorum: true, preVote: true });
  const term = c.get(1n).node.status().term;
  let timeoutNow = 0;
  c.onDeliver = (m) => {
    if (m.type === MessageType.MsgTimeoutNow) timeoutNow++;
    return m;
  };
  c.get(1n).node.transferLeader(2n);
  c.settle();
  assert.equal(timeoutNow, 1);
  assert.equal(c.leader()?.id, 2n);
  assert.equal(c.get(2n).node.status().term, term + 1);
  assert.equal(c.get(1n).node.status().lead, 2n);
});

test('transfer to a lagging follower waits until it caught up; proposals are refused meanwhile', () => {
  const c = started();
  c.down.add(3n);
  for (let i = 0; i < 10; i++) c.get(1n).node.propose(enc(`v${i}`));
  c.settle();
  c.down.delete(3n);
  c.get(1n).node.transferLeader(3n);
  assert.equal(c.get(1n).node.status().leadTransferee, 3n);
  assert.throws(() => c.get(1n).node.propose(enc('during')), ErrProposalDropped);
  c.settle();
  assert.equal(c.leader()?.id, 3n);
  assert.equal(normalData(c.get(3n)).length, 10);
  c.get(3n).node.propose(enc('after'));
  c.settle();
  assert.deepEqual(normalData(c.get(1n)).at(-1), 'after');
});

test('a transfer that cannot finish is aborted after an election timeout', () => {
  const c = started();
  c.down.add(3n);
  c.get(1n).node.transferLeader(3n);
  c.settle();
  assert.equal(c.get(1n).node.status().leadTransferee, 3n);
  c.tickAll(9);
  assert.equal(c.get(1n).node.status().leadTransferee, 3n);
  c.tickAll(1);
  assert.equal(c.get(1n).node.status().leadTransferee, 0n);
  assert.equal(c.leader()?.id, 1n);
  c.get(1n).node.propose(enc('ok'));
});

test('a follower forwards transferLeader to the leader; transfers to self or a learner are ignored', () => {
  const c = started();
  c.get(2n).node.transferLeader(3n);
  c.settle();
  assert.equal(c.leader()?.id, 3n);
  c.get(3n).node.transferLeader(3n);
  c.settle();
  assert.equal(c.get(3n).node.status().leadTransferee, 0n);
  c.get(3n).node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: new Uint8Array() });
  c.settle();
  c.add(newTestNode(4n, []));
  c.tickAll(3);
  c.get(3n).node.transferLeader(4n);
  assert.equal(c.get(3n).node.status().leadTransferee, 0n);
  c.settle();
  assert.equal(c.leader()?.id, 3n);
});
