import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('pre-vote: an isolated node does not inflate its term and does not disrupt on rejoin', () => {
  const c = new Cluster([1n, 2n, 3n], { preVote: true, checkQuorum: true });
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  const term = c.get(1n).node.status().term;
  c.isolate(3n);
  c.tickAll(100);
  const s3 = c.get(3n).node.status();
  assert.equal(s3.term, term, 'pre-candidate keeps its term');
  assert.equal(s3.state, 'PreCandidate');
  c.heal();
  c.tickAll(30);
  assert.equal(c.leader()?.id, 1n, 'leader kept');
  assert.equal(c.get(1n).node.status().term, term, 'no term bump');
  assert.equal(c.get(3n).node.status().lead, 1n);
});

test('without pre-vote, the same isolated node bumps terms and deposes the leader on rejoin', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  const term = c.get(1n).node.status().term;
  c.isolate(3n);
  c.tickAll(100);
  assert.ok(c.get(3n).node.status().term > term + 3);
  c.heal();
  c.tickAll(2);
  assert.ok(c.get(1n).node.status().term > term, 'leader saw the higher term');
});

test('check-quorum: a leader cut off from the majority steps down within an election timeout', () => {
  const c = new Cluster([1n, 2n, 3n], { checkQuorum: true, preVote: true });
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  c.isolate(1n);
  let stepped = -1;
  for (let t = 0; t < 40; t++) {
    c.tickAll();
    if (c.get(1n).node.status().state !== 'Leader') {
      stepped = t + 1;
      break;
    }
  }
  assert.ok(stepped > 0 && stepped <= 20, `stepped down after ${stepped} ticks`);
  assert.throws(() => c.get(1n).node.propose(enc('x')), { code: 'ProposalDropped' });
  // the majority side elects a new leader
  c.tickAll(40);
  const l = c.leader()!;
  assert.notEqual(l.id, 1n);
});

test('check-quorum off: an isolated leader keeps believing it leads', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  c.isolate(1n);
  c.tickAll(50);
  assert.equal(c.get(1n).node.status().state, 'Leader');
});

test('leader stickiness: followers that heard from the leader recently ignore a disruptive vote request', () => {
  // Node 3 does not use pre-vote (e.g. an old binary) and rejoins with a higher term.
  const c = new Cluster([1n, 2n, 3n], { checkQuorum: true });
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  const term = c.get(1n).node.status().term;
  c.isolate(3n);
  c.tickAll(60);
  assert.ok(c.get(3n).node.status().term > term);
  c.heal();
  // 3 campaigns at once with its high term: 1 and 2 are within their lease and ignore it
  c.get(3n).node.campaign();
  c.settle();
  assert.equal(c.get(2n).node.status().term, term, 'follower ignored the vote and kept its term');
  assert.equal(c.get(2n).node.status().lead, 1n);
  // Later the cluster settles on one leader (possibly after an election at 3's term) with the log intact.
  c.tickAll(60);
  assert.ok(c.leader());
  c.leader()!.node.propose(enc('after'));
  c.settle();
  for (const n of c.nodes.values()) assert.equal(n.applied.at(-1) && new TextDecoder().decode(n.applied.at(-1)!.data), 'after');
});
