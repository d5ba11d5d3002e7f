// Membership changes on a real cluster: etcd's refusals (duplicate peer URL, unknown member,
// promoting a voter or a learner that is behind, a second learner), a learner that catches up
// through a database snapshot (small --snapshot-count and catch-up entries), its promotion,
// MoveLeader, removing a member (it stops), and replacing a member whose data dir was lost.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, electionMs } from './kit/cluster.js';
import { eventually } from './kit/wait.js';

test('membership: learner via snapshot, promote, move leader, remove, replace a lost data dir; etcd errors', async (t) => {
  const c = await ProcessCluster.start(t, { args: ['--snapshot-count', '20', '--experimental-snapshot-catchup-entries', '5'] });
  const lead = await c.leader();
  const cl = c.client([0, 1, 2], 8000);
  const putRange = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += 10) await Promise.all([...Array(Math.min(10, to - i)).keys()].map((k) => cl.put(`pre/${i + k}`, `v${i + k}`)));
  };
  await putRange(0, 60);
  const list0 = await cl.cluster.memberList();
  assert.equal(list0.members.length, 3);
  const voter = list0.members[0].ID;

  // etcd's strict reconfig check comes first: until every peer has been connected for 5 s
  // (HealthInterval) an add is "unhealthy cluster"; then the duplicate URL is named
  const addError = (urls: string[]) => cl.cluster.memberAdd(urls).then(() => 'added', (e: Error) => e.message);
  assert.equal(await eventually('peers connected for 5 s', 20_000, async () => {
    const m = await addError([c.peerUrl(0)]);
    return m === 'etcdserver: unhealthy cluster' ? undefined : m;
  }), 'etcdserver: Peer URLs already exists');
  await assert.rejects(cl.cluster.memberAdd(['ftp://nope']), /etcdserver: given member URLs are invalid/);
  await assert.rejects(cl.cluster.memberRemove(0x1234n), /etcdserver: member not found/);
  await assert.rejects(cl.cluster.memberPromote(voter), /etcdserver: can only promote a learner member$/);

  // a learner joins (--initial-cluster-state existing) and catches up from a snapshot
  const n = await c.addSpec();
  const added = await cl.cluster.memberAdd([c.peerUrl(n)], { isLearner: true });
  const learnerId = added.member!.ID;
  assert.equal(added.member!.isLearner, true);
  assert.equal(added.members.length, 4);
  await assert.rejects(cl.cluster.memberAdd(['http://127.0.0.1:1'], { isLearner: true }), /etcdserver: too many learner members in cluster/);
  await assert.rejects(cl.cluster.memberPromote(learnerId), /etcdserver: can only promote a learner member which is in sync with leader/);
  // more writes: the leader snapshots again (its snapshot's ConfState now holds the learner) and
  // compacts its log, so the learner can only catch up from that snapshot
  await putRange(60, 90);
  await c.startMember(n, 'existing', c.initialCluster([0, 1, 2, n]));
  const lc = c.client(n, 3000);
  await eventually('learner caught up', 20_000, async () => ((await lc.get('pre/89', { serializable: true })).kvs[0]?.value.toString() === 'v89' ? true : undefined));
  assert.ok(c.members[n].logs.some((l) => l.includes('"applied snapshot"')), 'the learner installed a database snapshot');
  assert.equal((await c.status(n))?.isLearner, true, 'status reports the learner');
  await assert.rejects(lc.put('to-learner', 'x'), /etcdserver: rpc not supported for learner/);
  await assert.rejects(lc.get('pre/1'), /etcdserver: rpc not supported for learner/);
  const all = await lc.get('pre/', { prefix: true, serializable: true });
  assert.equal(all.kvs.length, 90);

  await eventually('promotion', 20_000, async () => {
    await cl.cluster.memberPromote(learnerId);
    return true;
  });
  // MemberList answers from the member asked (as etcd 3.4's does): a follower lists the promotion
  // once it has applied it
  const list1 = await eventually('the promotion listed', 10_000, async () => {
    const l = await cl.cluster.memberList();
    return l.members.every((m) => !m.isLearner) ? l : undefined;
  });
  assert.equal(list1.members.length, 4);
  // the leader answered once the promotion committed; the promoted member applies it when the commit reaches it
  await eventually('the promoted member applied its promotion', 10_000, async () => ((await c.status(n))?.isLearner === false ? true : undefined));
  assert.equal(list1.members.find((m) => m.ID === learnerId)?.name, c.members[n].name);

  // MoveLeader hands leadership to the promoted member
  const leaderClient = c.client(lead, 8000);
  await leaderClient.maintenance.moveLeader(learnerId);
  assert.equal((await c.status(n))?.leader, learnerId);
  await assert.rejects(c.client(lead, 3000).maintenance.moveLeader(voter), /etcdserver: not leader/);

  // remove a member: it stops
  const victim = [0, 1, 2].find((i) => i !== lead)!;
  const victimId = (await c.status(victim))!.id;
  const nc = c.client([lead, n], 8000);
  await eventually('remove', 20_000, async () => {
    await nc.cluster.memberRemove(victimId);
    return true;
  });
  await Promise.race([c.members[victim].exited, new Promise((_, rej) => setTimeout(() => rej(new Error('removed member did not stop')), 20 * electionMs))]);
  assert.equal((await nc.cluster.memberList()).members.length, 3);
  await assert.rejects(nc.cluster.memberRemove(victimId), /etcdserver: member not found/);

  // replace a member whose data dir is lost: remove it, wipe, add it back, join as existing
  const lost = [0, 1, 2].find((i) => i !== lead && i !== victim)!;
  const lostId = (await c.status(lost))!.id;
  await c.stopMember(lost);
  await eventually('remove lost member', 20_000, async () => {
    await nc.cluster.memberRemove(lostId);
    return true;
  });
  const { rm } = await import('node:fs/promises');
  await rm(c.members[lost].dataDir, { recursive: true, force: true });
  const readded = await eventually('re-add', 30_000, async () => (await nc.cluster.memberAdd([c.peerUrl(lost)])).member);
  assert.notEqual(readded.ID, lostId);
  await c.startMember(lost, 'existing', c.initialCluster([lead, n, lost]));
  const rc = c.client(lost, 3000);
  await eventually('replaced member caught up', 20_000, async () => ((await rc.get('pre/59')).kvs[0]?.value.toString() === 'v59' ? true : undefined));
  const list2 = await nc.cluster.memberList();
  assert.deepEqual(list2.members.map((m) => m.name).sort(), [c.members[lead].name, c.members[n].name, c.members[lost].name].sort());

  // a member the cluster never added refuses to join, with a clear error
  const stray = await c.addSpec('stray');
  await assert.rejects(c.startMember(stray, 'existing', c.initialCluster([lead, n, lost, stray])), /member count is unequal/);
});
