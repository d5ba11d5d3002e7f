// A member's peer port against an outsider (issue 10, section 1), on a real ./bin/tsetcd member
// with auth enabled: the 6-byte frame that used to crash it, a forged MsgProp (put + authDisable)
// from a sender that is not a member, another cluster's ID, a removed member, a forged snapshot.
// After each, the member still serves, auth is still on and no key appeared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@tsetcd/client';
import { MessageType, newMessage, type Message } from '@tsetcd/raft';
import { ProcessCluster } from './kit/cluster.js';
import { eventually } from './kit/wait.js';
import { peerCall, isAnswer, frame, payload, forgedProposal, streamDial, type PeerOutcome } from '../packages/server/test/peer-port-kit.js';

function answer(o: PeerOutcome): { status: number; body: string } {
  assert.ok(isAnswer(o), `expected an HTTP answer, the connection was cut: ${JSON.stringify(o)}`);
  return { status: o.status, body: o.body };
}

test('peer port: crash frame, forged proposal, wrong cluster, removed member and forged snapshot are refused; the member keeps serving', async (t) => {
  const c = await ProcessCluster.start(t, { size: 1, args: ['--bcrypt-cost', '4'] });
  const peer = `http://127.0.0.1:${c.members[0].peerPort}`;
  const admin = c.client(0);
  await admin.auth.userAdd('root', 'pw');
  await admin.auth.userGrantRole('root', 'root');
  await admin.auth.enable();
  const root = new Client({ endpoints: [c.clientUrl(0)], username: 'root', password: 'pw', requestTimeout: 5000, dialTimeout: 3000 });
  t.after(() => root.close());
  await root.put('/app/a', '1');

  const members = await peerCall(peer, 'GET', '/members', {});
  assert.ok(isAnswer(members) && members.status === 200);
  const cid = String(members.headers['x-etcd-cluster-id']);
  const self = (await c.status(0))!.id;
  const to = self.toString(16);
  // a learner that never starts: a member this one admits as a sender, removed later
  const learner = (await root.cluster.memberAdd(['http://127.0.0.1:9'], { isLearner: true })).member!.ID;
  const lh = learner.toString(16);
  const before = await root.get('\0', { fromKey: true });

  // the crash: 6 bytes from a non-member, then from an admitted sender (by the pipeline,
  // the one route that takes a raft message from whoever sends it: streams are dialed by their receiver)
  const crash = Buffer.from([0, 0, 0, 2, 0xff, 0xff]);
  assert.deepEqual(answer(await peerCall(peer, 'POST', '/raft', { clusterId: cid, from: '1234' }, crash)), { status: 404, body: 'error sender not found\n' });
  assert.deepEqual(answer(await peerCall(peer, 'POST', '/raft', { clusterId: cid, from: lh, to }, crash)), { status: 400, body: 'error unmarshalling raft message\n' });
  assert.ok(c.isRunning(0), 'the member survived the crash frame');

  // a non-member dialing the member's streams (to read what it sends) is refused
  for (const kind of ['message', 'msgapp'] as const) {
    assert.deepEqual(answer(await peerCall(peer, 'GET', streamDial(kind, '1234'), { clusterId: cid, to })), { status: 404, body: 'error sender not found\n' });
  }
  // the forged proposal: put injected + authDisable
  const forged = forgedProposal(0x1234n, self);
  assert.deepEqual(answer(await peerCall(peer, 'POST', '/raft', { clusterId: cid, from: '1234', to }, payload(forged))), { status: 404, body: 'error sender not found\n' });
  // the same through an admitted sender but in a non-member's name
  assert.deepEqual(answer(await peerCall(peer, 'POST', '/raft', { clusterId: cid, from: lh, to }, payload(forged))), { status: 400, body: 'raft message sender mismatch\n' });
  // another cluster's ID, another receiver
  assert.deepEqual(answer(await peerCall(peer, 'POST', '/raft', { clusterId: 'deadbeef', from: lh, to }, payload(forgedProposal(learner, self)))), { status: 412, body: 'cluster ID mismatch\n' });
  assert.deepEqual(answer(await peerCall(peer, 'POST', '/raft', { clusterId: cid, from: lh, to: '42' }, payload(forgedProposal(learner, self)))), { status: 412, body: 'to field mismatch\n' });
  assert.deepEqual(answer(await peerCall(peer, 'GET', streamDial('message', lh), { clusterId: cid, to: '42' })), { status: 412, body: 'to field mismatch\n' });

  // a forged snapshot (a database that would replace the member's) from a non-member
  const snap: Message = newMessage(MessageType.MsgSnap, self, { from: 0x1234n, term: 1000, snapshot: { data: new Uint8Array(0), metadata: { index: 1_000_000, term: 1000, confState: { voters: [0x1234n], learners: [] } } } as Message['snapshot'] });
  const snapAnswer = await peerCall(peer, 'POST', '/raft/snapshot', { clusterId: cid, from: '1234', to }, [frame(snap), Buffer.alloc(1024 * 1024, 1)]);
  if (isAnswer(snapAnswer)) assert.deepEqual({ status: snapAnswer.status, body: snapAnswer.body }, { status: 404, body: 'error sender not found\n' });

  // a well-formed message from an admitted sender that raft refuses (an empty proposal trips its
  // invariant check): logged and dropped inside the member, which keeps going
  const empty = newMessage(MessageType.MsgProp, self, { from: learner });
  assert.equal(answer(await peerCall(peer, 'POST', '/raft', { clusterId: cid, from: lh, to }, payload(empty))).status, 204);
  await eventually('the refusal is logged', 5000, async () => (c.members[0].logs.some((l) => l.includes('"failed to process raft message"') && l.includes('stepped empty MsgProp')) ? true : undefined));
  assert.ok(c.isRunning(0));

  // the removed member: etcd's 410
  await root.cluster.memberRemove(learner);
  for (const path of ['/raft', '/raft/snapshot', '/leases']) {
    assert.deepEqual(answer(await peerCall(peer, 'POST', path, { clusterId: cid, from: lh, to }, path === '/raft' ? payload(forgedProposal(learner, self)) : frame(forgedProposal(learner, self)))), { status: 410, body: 'removed member\n' }, path);
  }
  for (const kind of ['message', 'msgapp'] as const) {
    assert.deepEqual(answer(await peerCall(peer, 'GET', streamDial(kind, lh), { clusterId: cid, to })), { status: 410, body: 'removed member\n' }, kind);
  }

  // the member is alive, auth is still on, nothing was written
  assert.ok(c.isRunning(0));
  await assert.rejects(admin.get('injected'), /user name is empty/);
  assert.equal((await root.get('injected')).kvs.length, 0);
  const after = await root.get('\0', { fromKey: true });
  assert.deepEqual(after.kvs.map((kv) => kv.key.toString()), before.kvs.map((kv) => kv.key.toString()));
  assert.equal(after.header.revision, before.header.revision);
});
