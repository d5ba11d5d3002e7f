// Crash fail-over on a real 3-member cluster: kill -9 the leader while clients write, read and
// CAS through every member. A new leader takes over within a few election timeouts, every
// acknowledged write is readable afterwards (at its revision), the history is linearizable,
// the old leader catches up after a restart, and a watcher sees every event once, in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, electionMs } from './kit/cluster.js';
import { eventually, waitFor } from './kit/wait.js';
import { runWorkload } from './cluster-workload.js';
import { checkHistory } from './linearizability.js';
import type { WatchEvent } from '@tsetcd/client';

test('kill -9 the leader during writes: fail-over, no acknowledged write lost, linearizable, watch exactly-once', async (t) => {
  const c = await ProcessCluster.start(t);
  const lead = await c.leader();
  const followers = [0, 1, 2].filter((i) => i !== lead);

  // a watcher on a surviving follower, from the beginning of history
  const watcher = c.client(followers[0], 10_000).watch('lin/', { prefix: true, startRevision: 1 });
  const seen: WatchEvent[] = [];
  const watching = (async () => {
    for await (const b of watcher.batches()) seen.push(...b.events);
  })();

  const w = runWorkload([0, 1, 2].map((i) => c.client(i, 2000)));
  // a history before the kill, one through the new leader after it, and one with the old
  // leader back: each phase lasts until enough writes were acknowledged (or ops done) in it
  const moreAcked = (n: number, what: string) => {
    const from = w.acked.length;
    return waitFor(`${n} writes acknowledged ${what}`, () => w.acked.length >= from + n, 20_000);
  };
  await moreAcked(30, 'before the kill');
  const killedAt = performance.now();
  await c.stopMember(lead, 'SIGKILL');
  const newLead = await c.leader(20 * electionMs);
  const electedMs = performance.now() - killedAt;
  const firstWriteMs = (await w.firstSuccessAfter(performance.now())) - killedAt;
  assert.notEqual(newLead, lead);
  await moreAcked(30, 'after the fail-over');

  // restart the old leader while the workload still runs; it rejoins as a follower and serves
  // its client's operations again
  await c.startMember(lead, 'new');
  const okOnOld = w.okCount[lead];
  await waitFor('operations through the restarted member', () => w.okCount[lead] >= okOnOld + 20, 20_000);
  await w.stop();
  t.diagnostic(`fail-over: leader elected after ${Math.round(electedMs)} ms, first write after ${Math.round(firstWriteMs)} ms; ${w.okCount.join('/')} ops ok, ${w.acked.length} writes acked`);
  assert.ok(electedMs < 20 * electionMs, `new leader after ${electedMs} ms`);
  assert.ok(w.acked.length > 20, `too few writes: ${w.acked.length} (${w.errors.slice(0, 5).join('; ')})`);

  // every acknowledged write is readable at its revision, through every member
  const maxRev = w.acked.reduce((m, a) => (a.revision > m ? a.revision : m), 0n);
  for (const i of [0, 1, 2]) {
    const cl = c.client(i, 5000);
    await eventually(`member ${i} caught up`, 15_000, async () => ((await cl.get('lin/k0', { serializable: true })).header.revision >= maxRev ? true : undefined));
    const got = await Promise.all(w.acked.map((a) => cl.get(`lin/${a.key}`, { revision: a.revision, serializable: true })));
    w.acked.forEach((a, k) => assert.equal(got[k].kvs[0]?.value.toString(), a.value, `member ${i}: ${a.key}@${a.revision}`));
  }

  // final reads join the history, then the checker
  const finalCl = c.client(newLead, 5000);
  for (const k of ['k0', 'k1', 'k2', 'k3']) {
    const call = performance.now();
    const r = await finalCl.get(`lin/${k}`);
    w.history.push({ key: k, call, ret: performance.now(), op: { kind: 'get', result: r.kvs[0]?.value.toString() }, client: 99 });
  }
  const verdict = checkHistory(w.history);
  assert.ok(verdict.ok, `linearizability violations on keys ${verdict.badKeys.join(', ')}`);

  // the watcher saw each write exactly once, in revision order
  await eventually('watcher caught up', 15_000, async () => (seen.length > 0 && seen[seen.length - 1].kv.modRevision >= maxRev ? true : undefined));
  await watcher.stop();
  await watching.catch(() => undefined);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].kv.modRevision > seen[i - 1].kv.modRevision, `watch order at ${i}`);
  const byRev = new Map(seen.map((e) => [e.kv.modRevision, e]));
  assert.equal(byRev.size, seen.length, 'duplicate watch events');
  for (const a of w.acked) assert.equal(byRev.get(a.revision)?.kv.value.toString(), a.value, `watch missed ${a.key}@${a.revision}`);
});

test('a put a follower forwards to a leader that was just killed waits for the next leader and is applied once', async (t) => {
  const c = await ProcessCluster.start(t);
  const lead = await c.leader();
  const f = [0, 1, 2].find((i) => i !== lead)!;
  const cl = c.client(f, 20_000);
  const before = await cl.put('handover', 'before');
  // the follower notices the killed leader's stream to it is gone: forwarding by POST is refused from now on
  const noticed = c.waitForLog(f, '"msg":"lost TCP streaming connection with remote peer","stream-writer-type":"stream Message"');
  await c.stopMember(lead, 'SIGKILL');
  await noticed;
  const again = c.waitForLog(f, 'proposing again what the previous leader never received');
  // sent while the follower still follows the dead leader (its election timeout has not passed)
  const r = await cl.put('handover', 'after');
  await again;
  assert.equal(r.header.revision, before.header.revision + 1n, 'applied once');
  const got = await cl.get('handover');
  assert.equal(got.kvs[0].value.toString(), 'after');
  assert.equal(got.kvs[0].version, 2n);
  assert.equal(got.header.revision, r.header.revision);
});
