// v3lock and v3election services: mutual exclusion, leadership hand-over, proclaim, observe.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
import { startMember, connect, call, b } from './server-helpers.js';

const P = etcdserverpb;

test('lock: second locker waits until the first unlocks', async (t) => {
  const m = await startMember(t);
  const { lease } = connect(t, m.clientUrls[0]);
  const lk = new v3lockpb.LockClient(new URL(m.clientUrls[0]).host, credentials.createInsecure());
  t.after(() => lk.close());
  const l1 = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n }));
  const l2 = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n }));
  const a = await call(lk.lock.bind(lk), v3lockpb.LockRequest.fromPartial({ name: b('mylock'), lease: l1.ID }));
  assert.equal(a.key.toString(), `mylock/${l1.ID.toString(16)}`);
  let bGot = false;
  const bLock = call(lk.lock.bind(lk), v3lockpb.LockRequest.fromPartial({ name: b('mylock'), lease: l2.ID })).then((r) => {
    bGot = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(bGot, false);
  await call(lk.unlock.bind(lk), v3lockpb.UnlockRequest.fromPartial({ key: a.key }));
  const bRes = await bLock;
  assert.equal(bRes.key.toString(), `mylock/${l2.ID.toString(16)}`);
});

test('election: campaign, leader, proclaim, observe, resign hands over', async (t) => {
  const m = await startMember(t);
  const { lease } = connect(t, m.clientUrls[0]);
  const el = new v3electionpb.ElectionClient(new URL(m.clientUrls[0]).host, credentials.createInsecure());
  t.after(() => el.close());
  const l1 = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n }));
  const l2 = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n }));
  const c1 = await call(el.campaign.bind(el), v3electionpb.CampaignRequest.fromPartial({ name: b('e'), lease: l1.ID, value: b('one') }));
  const leader = c1.leader!;
  assert.equal((await call(el.leader.bind(el), v3electionpb.LeaderRequest.fromPartial({ name: b('e') }))).kv?.value.toString(), 'one');

  const seen: string[] = [];
  const obs = el.observe(v3electionpb.LeaderRequest.fromPartial({ name: b('e') }));
  obs.on('error', () => undefined);
  t.after(() => obs.cancel());
  obs.on('data', (r: v3electionpb.LeaderResponse) => seen.push(r.kv!.value.toString()));

  await call(el.proclaim.bind(el), v3electionpb.ProclaimRequest.fromPartial({ leader, value: b('uno') }));
  const second = call(el.campaign.bind(el), v3electionpb.CampaignRequest.fromPartial({ name: b('e'), lease: l2.ID, value: b('two') }));
  await new Promise((r) => setTimeout(r, 200));
  await call(el.resign.bind(el), v3electionpb.ResignRequest.fromPartial({ leader }));
  const c2 = await second;
  assert.equal(c2.leader?.key.toString(), `e/${l2.ID.toString(16)}`);
  await assert.rejects(call(el.proclaim.bind(el), v3electionpb.ProclaimRequest.fromPartial({ leader, value: b('x') })), /election: not leader/);
  const deadline = Date.now() + 5000;
  while (!seen.includes('two') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen.filter((v, i) => seen.indexOf(v) === i).slice(-2), ['uno', 'two']);
  await assert.rejects(call(el.leader.bind(el), v3electionpb.LeaderRequest.fromPartial({ name: b('nobody') })), /election: no leader/);
});
