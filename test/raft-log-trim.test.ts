// Between snapshots the in-memory raft log keeps only a catch-up tail behind what every member
// has applied (etcd keeps everything since its last snapshot). A member that then needs an entry
// no longer held, here a learner added after the writes, with no snapshot taken on disk yet,
// catches up from a database snapshot of the applied state (etcd's merged snapshot), and the
// cluster goes on replicating to it from the entry after that snapshot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster } from './kit/cluster.js';
import { eventually } from './kit/wait.js';

test('raft log trimmed between snapshots: a new member catches up from a snapshot of the applied state', async (t) => {
  // no snapshot is due (--snapshot-count far away); the catch-up tail is 5 entries
  const c = await ProcessCluster.start(t, { args: ['--snapshot-count', '100000', '--experimental-snapshot-catchup-entries', '5'] });
  const cl = c.client([0, 1, 2], 8000);
  for (let i = 0; i < 120; i += 10) await Promise.all([...Array(10).keys()].map((k) => cl.put(`pre/${i + k}`, `v${i + k}`)));
  assert.ok(!c.members.some((m) => m.logs.some((l) => l.includes('"saved snapshot"'))), 'no snapshot on disk yet');

  const n = await c.addSpec();
  const added = await eventually('learner added', 20_000, async () => cl.cluster.memberAdd([c.peerUrl(n)], { isLearner: true }).catch((e: Error) => (/unhealthy cluster/.test(e.message) ? undefined : Promise.reject(e))));
  await c.startMember(n, 'existing', c.initialCluster([0, 1, 2, n]));
  const lc = c.client(n, 3000);
  await eventually('learner caught up', 20_000, async () => ((await lc.get('pre/119', { serializable: true })).kvs[0]?.value.toString() === 'v119' ? true : undefined));
  assert.ok(c.members[n].logs.some((l) => l.includes('"applied snapshot"')), 'the learner installed a database snapshot');
  assert.equal((await lc.get('pre/', { prefix: true, serializable: true })).kvs.length, 120);

  // entries after the snapshot reach it, and it can be promoted (in sync with the leader)
  await cl.put('after', 'snapshot');
  await eventually('learner got the next entry', 10_000, async () => ((await lc.get('after', { serializable: true })).kvs[0]?.value.toString() === 'snapshot' ? true : undefined));
  await eventually('promotion', 20_000, async () => {
    await cl.cluster.memberPromote(added.member!.ID);
    return true;
  });
  await cl.put('promoted', 'yes');
  await eventually('promoted member replicates', 10_000, async () => ((await c.client(n, 3000).get('promoted', { serializable: true })).kvs[0]?.value.toString() === 'yes' ? true : undefined));
  await eventually('same revision everywhere', 10_000, async () => {
    const r = await Promise.all([0, 1, 2, n].map(async (i) => (await c.client(i, 3000).get('promoted', { serializable: true })).header?.revision));
    return r.every((x) => x === r[0]) ? true : undefined;
  });
});
