// Leases: grant (given/chosen IDs, minimum TTL), keep-alive stream, TimeToLive, Leases, expiry
// driven by the leader (a revoke through raft deleting attached keys in one revision).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, connect, call, b } from './server-helpers.js';
import { waitFor } from '../../../test/kit/wait.js';

const P = etcdserverpb;

test('lease: grant, keep-alive stream, timetolive, leases, revoke; expiry deletes keys in one revision', async (t) => {
  // election timeout 200ms, heartbeat 20ms: etcd's minimum TTL = ceil(15 ticks * 20ms) = 1s
  const m = await startMember(t);
  const { kv, lease } = connect(t, m.clientUrls[0]);
  const chosen = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 30n }));
  assert.ok(chosen.ID > 0n);
  assert.equal(chosen.TTL, 30n);
  assert.equal(chosen.header?.memberId, m.server.memberId);
  const short = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 1n, ID: 0x1234n }));
  assert.equal(short.ID, 0x1234n);
  assert.equal(short.TTL, 1n);
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('e1'), value: b('x'), lease: short.ID }));
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('e2'), value: b('y'), lease: short.ID }));
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('keep'), value: b('z'), lease: chosen.ID }));

  const list = await call(lease.leaseLeases.bind(lease), P.LeaseLeasesRequest.fromPartial({}));
  assert.deepEqual(list.leases.map((l) => l.ID).sort(), [chosen.ID, short.ID].sort());
  const ttl = await call(lease.leaseTimeToLive.bind(lease), P.LeaseTimeToLiveRequest.fromPartial({ ID: chosen.ID, keys: true }));
  assert.equal(ttl.grantedTTL, 30n);
  assert.ok(ttl.TTL >= 25n && ttl.TTL <= 30n, `remaining ${ttl.TTL}`);
  assert.deepEqual(ttl.keys.map(String), ['keep']);

  // keep-alive stream: known lease → its TTL, unknown → TTL 0
  const ka = lease.leaseKeepAlive();
  ka.on('error', () => undefined);
  t.after(() => ka.end());
  const replies: etcdserverpb.LeaseKeepAliveResponse[] = [];
  const twoReplies = new Promise<void>((resolve) => ka.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
    replies.push(r);
    if (replies.length === 2) resolve();
  }));
  ka.write({ ID: chosen.ID });
  ka.write({ ID: 999n });
  await twoReplies;
  assert.deepEqual(replies.map((r) => [r.ID, r.TTL]), [[chosen.ID, 30n], [999n, 0n]]);

  // expiry: the 1s lease runs out; both keys go in one revision
  const before = (await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('e1') }))).header!.revision;
  await waitFor('the expired lease\'s keys to go', async () =>
    (await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('e'), rangeEnd: b('f') }))).kvs.length === 0, 10_000, 50);
  const after = await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('keep') }));
  assert.equal(after.header!.revision, before + 1n);
  const expired = await call(lease.leaseTimeToLive.bind(lease), P.LeaseTimeToLiveRequest.fromPartial({ ID: short.ID }));
  assert.equal(expired.TTL, -1n);

  await call(lease.leaseRevoke.bind(lease), P.LeaseRevokeRequest.fromPartial({ ID: chosen.ID }));
  assert.equal((await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('keep') }))).kvs.length, 0);
  await assert.rejects(call(lease.leaseRevoke.bind(lease), P.LeaseRevokeRequest.fromPartial({ ID: chosen.ID })), /etcdserver: requested lease not found/);
});

test('lease: minimum TTL follows the election timeout (etcd: ceil(1.5 * election timeout))', async (t) => {
  const m = await startMember(t, { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 });
  const { lease } = connect(t, m.clientUrls[0]);
  const g = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 1n }));
  assert.equal(g.TTL, 2n);
});

test('lease: a put moving a key to another lease (or none) detaches it from the old one', async (t) => {
  const m = await startMember(t);
  const { kv, lease } = connect(t, m.clientUrls[0]);
  const grant = (ID: bigint) => call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n, ID }));
  const put = (key: string, leaseId: bigint) => call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(key), value: b('v'), lease: leaseId }));
  const keysOf = async (ID: bigint) => (await call(lease.leaseTimeToLive.bind(lease), P.LeaseTimeToLiveRequest.fromPartial({ ID, keys: true }))).keys.map(String);
  const exists = async (key: string) => (await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b(key) }))).count === 1n;
  await grant(0xa1n);
  await grant(0xb2n);
  await put('moved', 0xa1n);
  await put('dropped', 0xa1n);
  await put('moved', 0xb2n); // to another lease
  await put('dropped', 0n); // to no lease
  assert.deepEqual(await keysOf(0xa1n), []);
  assert.deepEqual(await keysOf(0xb2n), ['moved']);
  await call(lease.leaseRevoke.bind(lease), P.LeaseRevokeRequest.fromPartial({ ID: 0xa1n }));
  assert.ok(await exists('moved'));
  assert.ok(await exists('dropped'));
  await call(lease.leaseRevoke.bind(lease), P.LeaseRevokeRequest.fromPartial({ ID: 0xb2n }));
  assert.ok(!(await exists('moved')));
  assert.ok(await exists('dropped'));
});
