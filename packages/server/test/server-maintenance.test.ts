// Maintenance and Cluster: Status, Hash, HashKV, Defragment, Snapshot (with sha256 trailer),
// Alarm (NOSPACE from the quota, writes refused until disarmed), MoveLeader, MemberList.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, connect, call, b, grpcError } from './server-helpers.js';
import { backendQuotaBytes, type ServerLogger } from '../src/etcdserver/config.js';
import { GrpcCode } from '@tsetcd/common';

const P = etcdserverpb;

test('maintenance: status, hashes, defrag, snapshot stream, move leader, member list', async (t) => {
  const m = await startMember(t);
  const { kv, maintenance: mt, cluster } = connect(t, m.clientUrls[0]);
  let lastRev = 0n;
  for (let i = 0; i < 20; i++) lastRev = (await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(`m${i}`), value: b('v'.repeat(100)) }))).header!.revision;
  const st = await call(mt.status.bind(mt), P.StatusRequest.fromPartial({}));
  assert.equal(st.version, '3.4.23');
  assert.equal(st.leader, m.server.memberId);
  assert.ok(st.dbSize > 0n);
  assert.ok(st.raftIndex >= 20n);
  assert.equal(st.raftAppliedIndex, st.raftIndex);
  assert.equal(st.header?.revision, lastRev);
  const h1 = await call(mt.hashKv.bind(mt), P.HashKVRequest.fromPartial({ revision: 0n }));
  const h2 = await call(mt.hashKv.bind(mt), P.HashKVRequest.fromPartial({ revision: 0n }));
  assert.equal(h1.hash, h2.hash);
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('another'), value: b('1') }));
  const h3 = await call(mt.hashKv.bind(mt), P.HashKVRequest.fromPartial({ revision: lastRev }));
  assert.equal(h3.hash, h1.hash);
  assert.equal(typeof (await call(mt.hash.bind(mt), P.HashRequest.fromPartial({}))).hash, 'number');
  await call(mt.defragment.bind(mt), P.DefragmentRequest.fromPartial({}));

  const blobs: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = mt.snapshot(P.SnapshotRequest.fromPartial({}));
    s.on('data', (r: etcdserverpb.SnapshotResponse) => blobs.push(r.blob));
    s.on('end', resolve);
    s.on('error', reject);
  });
  assert.ok(blobs.length >= 2);
  const data = Buffer.concat(blobs.slice(0, -1));
  assert.deepEqual(blobs[blobs.length - 1], createHash('sha256').update(data).digest());

  await call(mt.moveLeader.bind(mt), P.MoveLeaderRequest.fromPartial({ targetID: m.server.memberId }));
  const bad = await grpcError(call(mt.moveLeader.bind(mt), P.MoveLeaderRequest.fromPartial({ targetID: 42n })));
  assert.equal(bad.details, 'etcdserver: bad leader transferee');
  const ml = await call(cluster.memberList.bind(cluster), P.MemberListRequest.fromPartial({}));
  assert.equal(ml.members.length, 1);
  assert.equal(ml.members[0].ID, m.server.memberId);
  assert.equal(ml.members[0].name, 'default');
  assert.deepEqual(ml.members[0].clientURLs, m.clientUrls);
});

test('alarm: NOSPACE over --quota-backend-bytes refuses writes until disarmed', async (t) => {
  const m = await startMember(t, { quotaBackendBytes: 1 });
  const { kv, maintenance: mt } = connect(t, m.clientUrls[0]);
  const e = await grpcError(call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('x'), value: b('1') })));
  assert.equal(e.code, GrpcCode.ResourceExhausted);
  assert.equal(e.details, 'etcdserver: mvcc: database space exceeded');
  const alarms = await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.GET }));
  assert.deepEqual(alarms.alarms, [{ memberID: m.server.memberId, alarm: P.AlarmType.NOSPACE }]);
  const st = await call(mt.status.bind(mt), P.StatusRequest.fromPartial({}));
  assert.match(st.errors.join(), /NOSPACE/);
  // reads still work; disarming lets a put through once under quota again
  await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('x') }));
  m.server.cfg.quotaBackendBytes = -1; // no quota
  await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.DEACTIVATE, memberID: m.server.memberId, alarm: P.AlarmType.NOSPACE }));
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('x'), value: b('1') }));
});

test('NOSPACE recovery: compact + defragment + disarm, then a put sent at once succeeds (issue 10)', async (t) => {
  const quota = 1048576;
  const m = await startMember(t, { quotaBackendBytes: quota });
  const { kv, maintenance: mt } = connect(t, m.clientUrls[0]);
  const put = (key: string, value: string | Buffer) => call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(key), value: typeof value === 'string' ? b(value) : value }));
  for (let i = 0; i < 20; i++) await put(`/snap/${i}`, 'x'.repeat(100));
  const big = Buffer.alloc(64 * 1024, 'z');
  const alarmList = async () => (await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.GET }))).alarms;
  // three rounds: the first put after each recovery must see the defragmented size, whatever the timing
  for (let round = 0; round < 3; round++) {
    // (a put that fit when the gate saw it but not when applied, the backend having grown in
    // between, is answered NOSPACE without the alarm, as in etcd: go on until the gate refuses)
    let err: ServiceError | undefined;
    for (let i = 0; i < 64 && (err === undefined || (await alarmList()).length === 0); i++) {
      err = await put(`/big/${i % 4}`, big).then(() => undefined, (e: unknown) => e as ServiceError);
    }
    assert.ok(err !== undefined, `round ${round}: no NOSPACE after 64 puts of 64 KiB`);
    assert.equal(err.code, GrpcCode.ResourceExhausted);
    assert.equal(err.details, 'etcdserver: mvcc: database space exceeded');
    await call(kv.deleteRange.bind(kv), P.DeleteRangeRequest.fromPartial({ key: b('/big/'), rangeEnd: b('/big0') }));
    const rev = (await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('/none') }))).header!.revision;
    await call(kv.compact.bind(kv), P.CompactionRequest.fromPartial({ revision: rev, physical: true }));
    await call(mt.defragment.bind(mt), P.DefragmentRequest.fromPartial({}));
    const nospace = { memberID: m.server.memberId, alarm: P.AlarmType.NOSPACE };
    const disarmed = await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.DEACTIVATE, ...nospace }));
    assert.deepEqual(disarmed.alarms, [nospace]);
    const listed = await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.GET }));
    assert.deepEqual(listed.alarms, []);
    const st = await call(mt.status.bind(mt), P.StatusRequest.fromPartial({}));
    assert.ok(st.dbSize < BigInt(quota), `round ${round}: status reports ${st.dbSize} bytes after defragment`);
    await put(`/after/${round}`, 'ok');
    const after = await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.GET }));
    assert.deepEqual(after.alarms, [], `round ${round}: the put after recovery raised NOSPACE again`);
  }
});

test("quota: the backend's size plus the request's cost (etcd's estimate) must stay under it; requests adding nothing pass", async (t) => {
  const m = await startMember(t);
  const { kv, lease, maintenance: mt } = connect(t, m.clientUrls[0]);
  const nospace = { memberID: m.server.memberId, alarm: P.AlarmType.NOSPACE };
  const size = async () => Number((await call(mt.status.bind(mt), P.StatusRequest.fromPartial({}))).dbSize);
  const disarm = async () => {
    const r = await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.DEACTIVATE, ...nospace }));
    assert.deepEqual(r.alarms, [nospace], 'the refusal raised NOSPACE');
  };
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('gone'), value: b('1') }));

  // a put costs 256 bytes plus its key and value: 357 here, more than the 300 left
  let now = await size();
  m.server.cfg.quotaBackendBytes = now + 300;
  const put = await grpcError(call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('k'), value: b('v'.repeat(100)) })));
  assert.equal(put.code, GrpcCode.ResourceExhausted);
  assert.equal(put.details, 'etcdserver: mvcc: database space exceeded');
  assert.ok(now < m.server.cfg.quotaBackendBytes, 'refused by its cost, not by the size alone');
  await disarm();

  // a lease costs 64 bytes
  now = await size();
  m.server.cfg.quotaBackendBytes = now + 50;
  const grant = await grpcError(call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n })));
  assert.equal(grant.code, GrpcCode.ResourceExhausted);
  assert.equal(grant.details, 'etcdserver: mvcc: database space exceeded');
  await disarm();

  // far over the quota: a txn that only deletes costs nothing and frees space; one that puts is refused
  m.server.cfg.quotaBackendBytes = 1;
  const del = P.RequestOp.fromPartial({ request: { $case: 'requestDeleteRange', value: P.DeleteRangeRequest.fromPartial({ key: b('gone') }) } });
  const freed = await call(kv.txn.bind(kv), P.TxnRequest.fromPartial({ success: [del] }));
  assert.equal(freed.succeeded, true);
  const listed = await call(mt.alarm.bind(mt), P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.GET }));
  assert.deepEqual(listed.alarms, [], 'a request costing nothing raises no alarm');
  const putOp = P.RequestOp.fromPartial({ request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: b('k'), value: b('v') }) } });
  const refused = await grpcError(call(kv.txn.bind(kv), P.TxnRequest.fromPartial({ success: [del], failure: [putOp] })));
  assert.equal(refused.code, GrpcCode.ResourceExhausted);
  await disarm();

  // with room for the cost, the same requests pass
  m.server.cfg.quotaBackendBytes = (await size()) + 1024 * 1024;
  await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b('k'), value: b('v'.repeat(100)) }));
  await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n }));
});

test("quota when applying (etcd's quotaApplierV3): a write that did not fit is applied all the same, answered NOSPACE, and raises the alarm", async (t) => {
  const m = await startMember(t);
  const s = m.server;
  const { kv } = connect(t, m.clientUrls[0]);
  const get = async (key: string) => (await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b(key) }))).kvs.map((kv) => kv.value.toString());
  // proposed straight to raft, past the gRPC gate, as a write racing others past it would be
  s.cfg.quotaBackendBytes = s.store.backend.size() + 100;
  await assert.rejects(s.propose({ put: P.PutRequest.fromPartial({ key: b('over'), value: b('v') }) }), /database space exceeded/);
  assert.deepEqual(await get('over'), ['v'], 'applied all the same, as etcd does');
  // etcd's applyEntryNormal raises the NOSPACE alarm through raft before it answers
  const nospace = { memberID: s.memberId, alarm: etcdserverpb.AlarmType.NOSPACE };
  assert.deepEqual(s.applier.alarmList(), [nospace]);
  const disarm = () => s.propose({ alarm: { action: etcdserverpb.AlarmRequest_AlarmAction.DEACTIVATE, ...nospace } });
  await disarm();
  const putOp = P.RequestOp.fromPartial({ request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: b('txn-over'), value: b('t') }) } });
  await assert.rejects(s.propose({ txn: P.TxnRequest.fromPartial({ success: [putOp] }) }), /database space exceeded/);
  assert.deepEqual(await get('txn-over'), ['t']);
  await disarm();
  s.cfg.quotaBackendBytes = s.store.backend.size() + 10;
  await assert.rejects(s.propose({ leaseGrant: P.LeaseGrantRequest.fromPartial({ ID: 77n, TTL: 60n }) }), /database space exceeded/);
  assert.ok(s.lessor.lookup(77n) !== undefined, 'the lease was granted all the same');
  // with the alarm up, writes are refused unapplied (etcd's capped applier); deletes pass
  await assert.rejects(s.propose({ put: P.PutRequest.fromPartial({ key: b('refused'), value: b('v') }) }), /database space exceeded/);
  assert.deepEqual(await get('refused'), []);
  await s.propose({ deleteRange: P.DeleteRangeRequest.fromPartial({ key: b('over') }) });
  await disarm();
  assert.deepEqual(s.applier.alarmList(), []);
  // with room again, the same writes are answered normally
  s.cfg.quotaBackendBytes = -1;
  await s.propose({ put: P.PutRequest.fromPartial({ key: b('fits'), value: b('v') }) });
  await s.propose({ leaseGrant: P.LeaseGrantRequest.fromPartial({ ID: 78n, TTL: 60n }) });
});

test('--quota-backend-bytes: 0 is the 2 GiB default, below 0 disables the quota (logged, as etcd)', async (t) => {
  assert.equal(backendQuotaBytes({ quotaBackendBytes: 0 }), 2 * 1024 * 1024 * 1024);
  assert.equal(backendQuotaBytes({ quotaBackendBytes: 1000 }), 1000);
  assert.equal(backendQuotaBytes({ quotaBackendBytes: -1 }), undefined);
  const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: ServerLogger = { debug() {}, info: (msg, fields) => logs.push({ msg, fields }), warn() {}, error() {} };
  const m = await startMember(t, { quotaBackendBytes: -1, logger });
  assert.deepEqual(logs.find((l) => l.msg === 'disabled backend quota')?.fields, { 'quota-name': 'v3-applier', 'quota-size-bytes': -1 });
  const metrics = await (await fetch(`${m.clientUrls[0]}/metrics`)).text();
  assert.match(metrics, /^etcd_server_quota_backend_bytes -1$/m);
  // 0 means the default quota: the gauge shows it
  const d = await startMember(t, { quotaBackendBytes: 0 });
  const gauge = /^etcd_server_quota_backend_bytes (\S+)$/m.exec(await (await fetch(`${d.clientUrls[0]}/metrics`)).text());
  assert.equal(Number(gauge?.[1]), 2 * 1024 * 1024 * 1024);
});
