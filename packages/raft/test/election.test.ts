import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, newMessage, type Message } from '../src/index.js';
import { Cluster, handleReady, newTestNode } from './helpers.js';

test('three nodes elect exactly one leader; everyone agrees on it', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  const l = c.electLeader();
  c.tickAll(3);
  const term = l.node.status().term;
  for (const n of c.nodes.values()) {
    assert.equal(n.node.status().lead, l.id);
    assert.equal(n.node.status().term, term);
  }
  assert.equal([...c.nodes.values()].filter((n) => n.node.status().state === 'Leader').length, 1);
});

test('randomised election timeout lies in [electionTick, 2*electionTick)', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const n = newTestNode(1n, [1n, 2n, 3n], {}, seed);
    handleReady(n, n.node.ready());
    let ticks = 0;
    while (n.node.status().state === 'Follower') {
      n.node.tick();
      ticks++;
    }
    assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks}`);
    seen.add(ticks);
  }
  assert.ok(seen.size >= 8, `timeouts are spread: ${[...seen]}`);
});

test('a node votes at most once per term and only for an up-to-date log', () => {
  const n = newTestNode(1n, [1n, 2n, 3n]);
  handleReady(n, n.node.ready());
  const vote = (from: bigint, term: number, index: number, logTerm: number): Message => {
    n.node.step(newMessage(MessageType.MsgVote, 1n, { from, term, index, logTerm }));
    const rd = n.node.ready();
    handleReady(n, rd);
    return rd.messages[0];
  };
  // our log: 3 entries of term 1
  assert.equal(vote(2n, 5, 3, 1).reject, false);
  assert.equal(n.node.status().vote, 2n);
  assert.equal(vote(3n, 5, 10, 1).reject, true, 'second candidate in the same term');
  assert.equal(vote(2n, 5, 3, 1).reject, false, 'repeat vote for the same candidate');
  assert.equal(vote(3n, 6, 2, 1).reject, true, 'shorter log with the same last term');
  assert.equal(vote(3n, 7, 1, 0).reject, true, 'older last term');
  const r = vote(3n, 8, 3, 1);
  assert.equal(r.reject, false);
  assert.equal(r.type, MessageType.MsgVoteResp);
  assert.equal(r.term, 8);
});

test('split votes resolve: five candidates at once still end with one leader', () => {
  const c = new Cluster([1n, 2n, 3n, 4n, 5n]);
  c.settle();
  for (const n of c.nodes.values()) n.node.campaign();
  c.settle();
  const l = c.electLeader();
  c.tickAll(5);
  assert.equal([...c.nodes.values()].filter((n) => n.node.status().state === 'Leader').length, 1);
  assert.equal(c.leader()!.id, l.id);
});

test('a candidate that loses the vote steps down and later elections succeed', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  assert.equal(c.leader()?.id, 1n);
  c.get(1n).node.propose(new TextEncoder().encode('x'));
  c.settle();
  // node 3 misses entries, then campaigns: the others refuse (their logs are newer)
  c.isolate(3n);
  c.get(1n).node.propose(new TextEncoder().encode('y'));
  c.settle();
  c.heal();
  c.down.add(1n);
  c.get(3n).node.campaign();
  c.settle();
  assert.notEqual(c.get(3n).node.status().state, 'Leader');
  c.down.delete(1n);
  const l = c.electLeader();
  assert.notEqual(l.id, 3n);
});
