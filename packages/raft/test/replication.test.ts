import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped, MessageType, type Message } from '../src/index.js';
import { Cluster, enc, normalData } from './helpers.js';

function started(ids: bigint[], over = {}): Cluster {
  const c = new Cluster(ids, over);
  c.settle();
  c.get(1n).node.campaign();
  c.settle();
  assert.equal(c.leader()?.id, 1n);
  return c;
}

test('entries proposed on the leader are applied in the same order on every node', () => {
  const c = started([1n, 2n, 3n]);
  for (let i = 0; i < 20; i++) c.get(1n).node.propose(enc(`v${i}`));
  c.settle();
  const want = Array.from({ length: 20 }, (_, i) => `v${i}`);
  for (const n of c.nodes.values()) assert.deepEqual(normalData(n), want);
});

test('followers forward proposals to the leader', () => {
  const c = started([1n, 2n, 3n]);
  c.get(2n).node.propose(enc('from-2'));
  c.get(3n).node.propose(enc('from-3'));
  c.settle();
  for (const n of c.nodes.values()) assert.deepEqual(normalData(n).sort(), ['from-2', 'from-3']);
});

test('proposals are dropped with ErrProposalDropped when there is no leader', () => {
  const c = new Cluster([1n, 2n, 3n]);
  c.settle();
  assert.throws(() => c.get(2n).node.propose(enc('x')), (e: unknown) => e instanceof ErrProposalDropped && e.code === 'ProposalDropped');
  c.get(1n).node.campaign(); // candidate, votes not yet delivered
  assert.throws(() => c.get(1n).node.propose(enc('x')), ErrProposalDropped);
});

test('flow control: at most maxInflightMsgs unacknowledged MsgApp per follower', () => {
  const c = started([1n, 2n, 3n], { maxInflightMsgs: 2 });
  let toTwo = 0;
  c.onDeliver = (m) => {
    if (m.to === 2n && m.type === MessageType.MsgApp && m.entries.length > 0) toTwo++;
    return m;
  };
  c.cut.add('2-1'); // node 2's acks are lost
  for (let i = 0; i < 10; i++) {
    c.get(1n).node.propose(enc(`p${i}`));
    c.settle();
  }
  assert.equal(toTwo, 2, 'window of 2 messages');
  assert.equal(c.get(1n).node.status().progress!.get(2n)!.state, 'Replicate');
  // node 3 keeps the cluster committing
  assert.equal(normalData(c.get(3n)).length, 10);
  // acks flow again: a heartbeat response frees a slot, the follower catches up
  c.heal();
  c.tickAll(3);
  assert.equal(normalData(c.get(2n)).length, 10);
});

test('byte limit: a MsgApp carries at most maxSizePerMsg bytes of entries (but at least one)', () => {
  const c = started([1n, 2n, 3n], { maxSizePerMsg: 100 });
  c.isolate(2n);
  for (let i = 0; i < 30; i++) c.get(1n).node.propose(enc(`0123456789-${i}`.slice(0, 10)));
  c.settle();
  c.heal();
  const sizes: number[] = [];
  c.onDeliver = (m) => {
    if (m.to === 2n && m.type === MessageType.MsgApp && m.entries.length > 0) sizes.push(m.entries.length);
    return m;
  };
  c.tickAll(5);
  assert.equal(normalData(c.get(2n)).length, 30);
  // each entry is 21 + 10 bytes: 3 fit in 100 bytes
  assert.ok(sizes.length >= 10, `${sizes}`);
  assert.ok(sizes.every((n) => n >= 1 && n <= 3), `${sizes}`);
});

test('progress states: replicate -> probe on unreachable, back to replicate on ack', () => {
  const c = started([1n, 2n, 3n]);
  const pr = () => c.get(1n).node.status().progress!.get(2n)!;
  assert.equal(pr().state, 'Replicate');
  c.get(1n).node.reportUnreachable(2n);
  assert.equal(pr().state, 'Probe');
  c.get(1n).node.propose(enc('x')); // probe with the new entry -> ack
  c.settle();
  assert.equal(pr().state, 'Replicate');
  assert.equal(pr().match, c.get(1n).node.status().commit);
});

test('fast back-off: a follower with a long divergent tail is repaired in a few round trips', () => {
  const c = started([1n, 2n, 3n]);
  c.get(1n).node.propose(enc('base'));
  c.settle();
  // the old leader 1 is partitioned and keeps appending entries nobody else gets
  c.isolate(1n);
  for (let i = 0; i < 50; i++) c.get(1n).node.propose(enc(`lost${i}`));
  c.settle();
  // the majority elects 2 and commits 50 entries of its own, then 2 goes down
  c.get(2n).node.campaign();
  c.settle();
  assert.equal(c.get(2n).node.status().state, 'Leader');
  for (let i = 0; i < 50; i++) c.get(2n).node.propose(enc(`kept${i}`));
  c.settle();
  c.down.add(2n);
  c.heal();
  let rejections = 0;
  c.onDeliver = (m: Message) => {
    if (m.type === MessageType.MsgAppResp && m.reject && m.from === 1n) rejections++;
    return m;
  };
  // 3 (newest log) becomes leader with 1's vote and probes 1 at its own last index
  c.get(3n).node.campaign();
  c.settle();
  assert.equal(c.get(3n).node.status().state, 'Leader');
  const d1 = normalData(c.get(1n));
  assert.equal(d1.length, 51);
  assert.ok(!d1.some((s) => s.startsWith('lost')));
  // one rejection skips the whole conflicting term (instead of 50 one-by-one probes)
  assert.ok(rejections >= 1 && rejections <= 2, `rejections ${rejections}`);
});

test('entries from an earlier term are committed only once an entry of the current term is (Figure 8)', () => {
  const c = started([1n, 2n, 3n]);
  c.get(1n).node.propose(enc('a'));
  c.settle();
  // 1 (leader of term 2) appends X locally only.
  c.isolate(1n);
  c.get(1n).node.propose(enc('X'));
  c.settle();
  const xIndex = c.get(1n).storage.lastIndex();
  const xTerm = c.get(1n).node.status().term;
  // 2 wins term 3 with 3's vote, but none of its entries get out.
  c.onDeliver = (m) => (m.from === 2n && m.type !== MessageType.MsgVote ? undefined : m);
  c.get(2n).node.campaign();
  c.settle();
  assert.equal(c.get(2n).node.status().state, 'Leader');
  c.isolate(2n);
  c.cut.delete('1-3');
  c.cut.delete('3-1');
  // 1 and 3 elect 1 (its log ends with X, newer than 3's). On its way to 3, strip every entry
  // of a term later than X's: 3 receives X but not the new leader's own entry.
  c.onDeliver = (m) => (m.type === MessageType.MsgApp && m.from === 1n ? { ...m, entries: m.entries.filter((e) => e.term <= xTerm) } : m);
  // (1 still believes it leads term 2 until it hears of term 3)
  for (let t = 0; t < 300 && !(c.get(1n).node.status().state === 'Leader' && c.get(1n).node.status().term > 3); t++) c.tickAll();
  const st = c.get(1n).node.status();
  assert.equal(st.state, 'Leader');
  assert.ok(st.term > 3);
  c.tickAll(3);
  assert.equal(c.get(1n).node.status().progress!.get(3n)!.match, xIndex, 'X is on a majority (1 and 3)');
  assert.ok(c.get(1n).node.status().commit < xIndex, 'X is not committed by counting replicas');
  c.onDeliver = undefined;
  c.tickAll(2);
  assert.ok(c.get(1n).node.status().commit > xIndex, 'committed together with the leader entry');
  assert.deepEqual(normalData(c.get(3n)), ['a', 'X']);
});

test('maxUncommittedEntriesSize: the leader refuses proposals once too much is uncommitted', () => {
  const c = started([1n, 2n, 3n], { maxUncommittedEntriesSize: 100 });
  c.isolate(1n);
  let accepted = 0;
  assert.throws(() => {
    for (let i = 0; i < 100; i++) {
      c.get(1n).node.propose(new Uint8Array(10));
      accepted++;
    }
  }, ErrProposalDropped);
  assert.ok(accepted >= 9 && accepted <= 11, `accepted ${accepted}`);
  c.heal();
  c.tickAll(2);
  c.get(1n).node.propose(new Uint8Array(10)); // committed entries freed the budget
});

test('the commit reaches followers in a commit-only MsgApp, which they answer only by a rejection: one MsgAppResp per follower per proposal', () => {
  const c = started([1n, 2n, 3n]);
  const seen: Message[] = [];
  c.onDeliver = (m) => {
    seen.push(m);
    return m;
  };
  c.get(1n).node.propose(enc('one'));
  c.settle();
  for (const n of c.nodes.values()) assert.deepEqual(normalData(n), ['one'], 'applied everywhere');
  for (const f of [2n, 3n]) {
    const apps = seen.filter((m) => m.type === MessageType.MsgApp && m.to === f);
    assert.deepEqual(apps.map((m) => [m.entries.length, m.commitOnly]), [[1, false], [0, true]], `to ${f}: the entry, then the commit alone`);
    assert.equal(seen.filter((m) => m.type === MessageType.MsgAppResp && m.from === f).length, 1, `${f} answers the entry only`);
  }
  // a commit-only MsgApp that does not fit the follower's log is still answered (rejected)
  const lead = c.get(1n).node.status();
  const stray = { ...seen.find((m) => m.commitOnly && m.to === 2n)!, index: lead.commit + 5, logTerm: lead.term };
  seen.length = 0;
  c.get(2n).node.step(stray);
  c.settle();
  assert.ok(seen.some((m) => m.type === MessageType.MsgAppResp && m.from === 2n && m.reject), 'the rejection goes back');
});

test('a lost entry answer: the next heartbeat answer finds the match behind, an answered MsgApp goes out and the match catches up', () => {
  const c = started([1n, 2n, 3n]);
  let dropped = 0;
  c.onDeliver = (m) => {
    if (m.type === MessageType.MsgAppResp && m.from === 2n && dropped === 0) {
      dropped++;
      return undefined;
    }
    return m;
  };
  c.get(1n).node.propose(enc('one'));
  c.settle();
  assert.equal(dropped, 1);
  const last = c.get(1n).node.status().commit;
  assert.ok(c.get(1n).node.status().progress!.get(2n)!.match < last, 'the leader did not learn 2 has it');
  c.tickAll(1); // one heartbeat round
  assert.equal(c.get(1n).node.status().progress!.get(2n)!.match, last);
});
