import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped, MessageType } from '../src/index.js';
import { Cluster, enc } from './helpers.js';

function started(): Cluster {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  return c;
}

test('leader: read index = commit at request time, released after a heartbeat round carrying the ctx', () => {
  const c = started();
  c.get(1n).node.propose(enc('w1'));
  c.settle();
  const commit = c.get(1n).node.status().commit;
  const acks: string[] = [];
  c.onDeliver = (m) => {
    if (m.type === MessageType.MsgHeartbeatResp) acks.push(Buffer.from(m.context).toString());
    return m;
  };
  c.get(1n).node.readIndex(enc('read-1'));
  // nothing is answered before the quorum confirmed leadership
  const rd = c.get(1n).node.ready();
  assert.equal(rd.readStates.length, 0);
  const beats = rd.messages.filter((m) => m.type === MessageType.MsgHeartbeat);
  assert.deepEqual(beats.map((m) => Buffer.from(m.context).toString()), ['read-1', 'read-1']);
  for (const m of rd.messages) c.get(m.to).node.step(m);
  c.get(1n).node.advance(rd);
  c.settle();
  assert.deepEqual(acks, ['read-1', 'read-1'], 'followers echo the ctx');
  assert.deepEqual(c.get(1n).reads, [{ index: commit, ctx: 'read-1' }]);
});

test('a partitioned leader cannot confirm leadership: its reads are never answered', () => {
  const c = started();
  c.isolate(1n);
  c.get(1n).node.readIndex(enc('stale'));
  c.tickAll(5);
  assert.deepEqual(c.get(1n).reads, []);
});

test('follower: the request is forwarded, the answer comes back as a read state', () => {
  const c = started();
  c.get(1n).node.propose(enc('w1'));
  c.settle();
  c.get(3n).node.readIndex(enc('f-read'));
  c.settle();
  assert.deepEqual(c.get(3n).reads, [{ index: c.get(1n).node.status().commit, ctx: 'f-read' }]);
  assert.deepEqual(c.get(1n).reads, []);
});

test('no leader: readIndex throws ErrProposalDropped', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  assert.throws(() => c.get(2n).node.readIndex(enc('x')), ErrProposalDropped);
});

test('a new leader defers reads until it committed an entry of its term', () => {
  const c = started();
  c.get(1n).node.propose(enc('w1'));
  c.settle();
  // 2 wins term 3 but its MsgApp (carrying its empty entry) is held back
  let hold = true;
  c.onDeliver = (m) => (hold && m.from === 2n && m.type === MessageType.MsgApp ? undefined : m);
  c.get(2n).node.campaign();
  c.settle();
  assert.equal(c.get(2n).node.status().state, 'Leader');
  c.get(2n).node.readIndex(enc('early'));
  c.tickAll(3); // heartbeats flow, but the read must wait
  assert.deepEqual(c.get(2n).reads, []);
  hold = false;
  c.tickAll(2);
  const st = c.get(2n).node.status();
  assert.equal(c.get(2n).reads.length, 1);
  assert.equal(c.get(2n).reads[0].ctx, 'early');
  // the answer covers every entry of the previous term, including w1
  assert.ok(c.get(2n).reads[0].index >= c.get(1n).applied.findLast((e) => e.data.byteLength > 0)!.index);
  assert.ok(c.get(2n).reads[0].index <= st.commit);
});

test('many reads in flight are released in order by one later acknowledgement', () => {
  const c = started();
  for (let i = 0; i < 5; i++) c.get(1n).node.readIndex(enc(`r${i}`));
  c.settle();
  assert.deepEqual(c.get(1n).reads.map((r) => r.ctx), ['r0', 'r1', 'r2', 'r3', 'r4']);
});
