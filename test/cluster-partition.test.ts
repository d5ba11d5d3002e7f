// Network partitions through TCP proxies in front of every peer URL: isolate the leader. It
// steps down (check-quorum), the majority elects a new leader and keeps serving, the isolated
// member refuses linearizable reads (serializable ones stay local), and after healing it
// follows again. The concurrent history stays linearizable and no acknowledged write is lost.
// Black-hole the leader's address instead: with receiver-dialed streams (etcd's direction) its
// heartbeats stop, the others elect, and the cut member still hears the new leader and follows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, electionMs } from './kit/cluster.js';
import { eventually, waitFor } from './kit/wait.js';
import { runWorkload } from './cluster-workload.js';
import { checkHistory } from './linearizability.js';

test('isolate the leader: it steps down, the majority elects and serves, the minority serves no linearizable reads; heal', async (t) => {
  const c = await ProcessCluster.start(t, { proxies: true });
  const lead = await c.leader();
  const others = [0, 1, 2].filter((i) => i !== lead);
  const leadId = (await c.status(lead))!.id;

  const w = runWorkload([0, 1, 2].map((i) => c.client(i, 2000)));
  // a history before the partition
  await waitFor('30 writes acknowledged before the partition', () => w.acked.length >= 30, 20_000);

  // cut every link to and from the leader
  c.members[lead].proxy!.isolate(true);
  for (const i of others) c.members[i].proxy!.block(leadId.toString(16), true);
  const cutAt = performance.now();

  const newLead = await c.leader(30 * electionMs, others);
  assert.notEqual(newLead, lead);
  const electedMs = performance.now() - cutAt;
  // the old leader notices it lost its quorum and steps down
  await eventually('old leader steps down', 20 * electionMs, async () => {
    const st = await c.status(lead);
    return st !== undefined && st.leader !== leadId ? true : undefined;
  });
  // the majority keeps taking writes
  const maj = c.client(newLead, 3000);
  await maj.put('during', 'partition');
  // the minority: no linearizable read, a serializable one answers from local state
  const minority = c.client(lead, 1500);
  await assert.rejects(minority.get('during'));
  const local = await minority.get('lin/k0', { serializable: true });
  assert.ok(local.header.revision > 0n);

  // heal: the old leader rejoins as a follower of the new one and catches up
  c.members[lead].proxy!.isolate(false);
  for (const i of others) c.members[i].proxy!.block(leadId.toString(16), false);
  const healed = await c.leader(30 * electionMs);
  await eventually('old leader serves linearizable reads again', 20_000, async () => {
    const r = await c.client(lead, 2000).get('during').catch(() => undefined);
    return r?.kvs[0]?.value.toString() === 'partition' ? true : undefined;
  });
  // the healed member serves its client's operations again
  const okOnOld = w.okCount[lead];
  await waitFor('operations through the healed member', () => w.okCount[lead] >= okOnOld + 10, 20_000);
  await w.stop();
  t.diagnostic(`partition: new leader after ${Math.round(electedMs)} ms; leader after heal: member ${healed}; ${w.okCount.join('/')} ops ok, ${w.acked.length} writes acked`);

  const final = c.client(healed, 5000);
  const maxRev = w.acked.reduce((m, a) => (a.revision > m ? a.revision : m), 0n);
  for (const i of [0, 1, 2]) {
    const cl = c.client(i, 5000);
    await eventually(`member ${i} caught up`, 15_000, async () => ((await cl.get('lin/k0', { serializable: true })).header.revision >= maxRev ? true : undefined));
    const got = await Promise.all(w.acked.map((a) => cl.get(`lin/${a.key}`, { revision: a.revision, serializable: true })));
    w.acked.forEach((a, k) => assert.equal(got[k].kvs[0]?.value.toString(), a.value, `member ${i}: ${a.key}@${a.revision}`));
  }
  for (const k of ['k0', 'k1', 'k2', 'k3']) {
    const call = performance.now();
    const r = await final.get(`lin/${k}`);
    w.history.push({ key: k, call, ret: performance.now(), op: { kind: 'get', result: r.kvs[0]?.value.toString() }, client: 99 });
  }
  const verdict = checkHistory(w.history);
  assert.ok(verdict.ok, `linearizability violations on keys ${verdict.badKeys.join(', ')}`);
});

test("black-hole the leader's advertised peer address: the others elect, and the cut member follows the new leader (it still reads the streams it dials)", async (t) => {
  const c = await ProcessCluster.start(t, { proxies: true });
  const lead = await c.leader();
  const others = [0, 1, 2].filter((i) => i !== lead);
  await c.client(lead, 5000).put('before-cut', 'x');
  // nothing reaches the leader's address any more, and nothing it sends there leaves: as with
  // etcd, that address carries the streams of everything the leader sends, so its heartbeats stop
  c.members[lead].proxy!.blackhole(true);
  const newLead = await c.leader(20 * electionMs, others);
  const newId = (await c.status(newLead))!.id;
  const w = await c.client(others, 10_000).put('after-cut', 'y');
  // the cut member dialed the others' addresses (not cut): it hears the new leader and follows it
  await eventually('the cut member follows the new leader', 20 * electionMs, async () => ((await c.status(lead))?.leader === newId ? true : undefined));
  // heal: the frozen connections end, streams are dialed again and the member catches up
  c.members[lead].proxy!.blackhole(false);
  await eventually('the healed member caught up', 20 * electionMs, async () => {
    const r = await c.client(lead, 5000).get('after-cut', { serializable: true });
    return r.kvs[0]?.value.toString() === 'y' && r.header.revision >= w.header.revision ? true : undefined;
  });
  assert.equal((await c.status(lead))?.leader, newId);
});
