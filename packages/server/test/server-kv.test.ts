// KV through the real path (gRPC → raft → WAL → apply → MVCC) on one member: every Range option,
// Put flags, DeleteRange, Txn semantics and etcd's exact errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, connect, call, b, grpcError } from './server-helpers.js';
import { GrpcCode } from '@tsetcd/common';

const P = etcdserverpb;
const put = (key: string, value: string, extra: Partial<etcdserverpb.PutRequest> = {}) => P.PutRequest.fromPartial({ key: b(key), value: b(value), ...extra });
const range = (key: string, extra: Partial<etcdserverpb.RangeRequest> = {}) => P.RangeRequest.fromPartial({ key: b(key), ...extra });

test('KV: put/range/delete with options, headers and revisions', async (t) => {
  const m = await startMember(t);
  const { kv } = connect(t, m.clientUrls[0]);
  const r1 = await call(kv.put.bind(kv), put('a', '1'));
  assert.equal(r1.header?.memberId, m.server.memberId);
  assert.equal(r1.header?.clusterId, m.server.clusterId);
  assert.ok((r1.header?.raftTerm ?? 0n) >= 2n);
  const rev1 = r1.header!.revision;
  const r2 = await call(kv.put.bind(kv), put('a', '2', { prevKv: true }));
  assert.equal(r2.header?.revision, rev1 + 1n);
  assert.equal(r2.prevKv?.value.toString(), '1');
  await call(kv.put.bind(kv), put('b', 'x'));
  await call(kv.put.bind(kv), put('c', 'yy'));

  const all = await call(kv.range.bind(kv), range('a', { rangeEnd: b('d') }));
  assert.deepEqual(all.kvs.map((k) => k.key.toString()), ['a', 'b', 'c']);
  assert.equal(all.count, 3n);
  const a = all.kvs[0];
  assert.equal(a.version, 2n);
  assert.equal(a.createRevision, rev1);
  assert.equal(a.modRevision, rev1 + 1n);

  const old = await call(kv.range.bind(kv), range('a', { revision: rev1 }));
  assert.equal(old.kvs[0].value.toString(), '1');
  const lim = await call(kv.range.bind(kv), range('a', { rangeEnd: b('d'), limit: 2n }));
  assert.equal(lim.kvs.length, 2);
  assert.equal(lim.more, true);
  assert.equal(lim.count, 3n);
  const desc = await call(kv.range.bind(kv), range('a', { rangeEnd: Buffer.of(0), sortOrder: P.RangeRequest_SortOrder.DESCEND, sortTarget: P.RangeRequest_SortTarget.KEY }));
  assert.deepEqual(desc.kvs.map((k) => k.key.toString()), ['c', 'b', 'a']);
  const keysOnly = await call(kv.range.bind(kv), range('a', { rangeEnd: b('d'), keysOnly: true }));
  assert.equal(keysOnly.kvs[0].value.length, 0);
  const countOnly = await call(kv.range.bind(kv), range('a', { rangeEnd: b('d'), countOnly: true }));
  assert.equal(countOnly.kvs.length, 0);
  assert.equal(countOnly.count, 3n);
  const ser = await call(kv.range.bind(kv), range('b', { serializable: true }));
  assert.equal(ser.kvs[0].value.toString(), 'x');
  const minMod = await call(kv.range.bind(kv), range('a', { rangeEnd: b('d'), minModRevision: rev1 + 2n }));
  assert.deepEqual(minMod.kvs.map((k) => k.key.toString()), ['b', 'c']);

  const del = await call(kv.deleteRange.bind(kv), P.DeleteRangeRequest.fromPartial({ key: b('b'), rangeEnd: b('d'), prevKv: true }));
  assert.equal(del.deleted, 2n);
  assert.deepEqual(del.prevKvs.map((k) => k.key.toString()), ['b', 'c']);
  const none = await call(kv.deleteRange.bind(kv), P.DeleteRangeRequest.fromPartial({ key: b('zz') }));
  assert.equal(none.deleted, 0n);
  assert.equal(none.header?.revision, del.header?.revision);

  // ignore_value / ignore_lease
  const iv = await call(kv.put.bind(kv), put('a', '', { ignoreValue: true, prevKv: true }));
  assert.equal(iv.prevKv?.value.toString(), '2');
  const got = await call(kv.range.bind(kv), range('a'));
  assert.equal(got.kvs[0].value.toString(), '2');
  assert.equal(got.kvs[0].version, 3n);
});

test('KV: etcd errors with exact codes and messages', async (t) => {
  const m = await startMember(t, { maxRequestBytes: 64 * 1024 });
  const { kv, lease } = connect(t, m.clientUrls[0]);
  const cases: Array<[() => Promise<unknown>, number, string]> = [
    [() => call(kv.put.bind(kv), put('', 'v')), 3, 'etcdserver: key is not provided'],
    [() => call(kv.range.bind(kv), range('')), 3, 'etcdserver: key is not provided'],
    [() => call(kv.put.bind(kv), put('k', 'v', { ignoreValue: true })), 3, 'etcdserver: value is provided'],
    [() => call(kv.put.bind(kv), put('k', '', { ignoreLease: true, lease: 5n })), 3, 'etcdserver: lease is provided'],
    [() => call(kv.put.bind(kv), put('nokey', '', { ignoreValue: true })), 3, 'etcdserver: key not found'],
    [() => call(kv.put.bind(kv), put('k', 'v', { lease: 12345n })), 5, 'etcdserver: requested lease not found'],
    [() => call(kv.put.bind(kv), put('k', 'x'.repeat(100 * 1024))), 3, 'etcdserver: request is too large'],
    [() => call(kv.range.bind(kv), range('k', { revision: 1000n })), 11, 'etcdserver: mvcc: required revision is a future revision'],
    [() => call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 9_000_000_001n })), 11, 'etcdserver: too large lease TTL'],
  ];
  for (const [p, code, msg] of cases) {
    const e = await grpcError(p());
    assert.equal(e.details, msg);
    assert.equal(e.code, code, msg);
  }
  const g = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n, ID: 77n }));
  assert.equal(g.ID, 77n);
  const dup = await grpcError(call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 60n, ID: 77n })));
  assert.equal(dup.code, GrpcCode.FailedPrecondition);
  assert.equal(dup.details, 'etcdserver: lease already exists');

  // txn limits and duplicate keys
  const ops = Array.from({ length: 129 }, (_, i) => ({ request: { $case: 'requestPut' as const, value: put(`k${i}`, 'v') } }));
  const tooMany = await grpcError(call(kv.txn.bind(kv), P.TxnRequest.fromPartial({ success: ops })));
  assert.equal(tooMany.details, 'etcdserver: too many operations in txn request');
  const dupKey = await grpcError(
    call(kv.txn.bind(kv), P.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', value: put('d', '1') } }, { request: { $case: 'requestPut', value: put('d', '2') } }] })),
  );
  assert.equal(dupKey.code, GrpcCode.InvalidArgument);
  assert.equal(dupKey.details, 'etcdserver: duplicate key given in txn request');
  const putInDeleted = await grpcError(
    call(kv.txn.bind(kv), P.TxnRequest.fromPartial({
      success: [
        { request: { $case: 'requestDeleteRange', value: P.DeleteRangeRequest.fromPartial({ key: b('a'), rangeEnd: b('z') }) } },
        { request: { $case: 'requestPut', value: put('m', '2') } },
      ],
    })),
  );
  assert.equal(putInDeleted.details, 'etcdserver: duplicate key given in txn request');
  // the same key in then/else of a nested txn is allowed
  await call(kv.txn.bind(kv), P.TxnRequest.fromPartial({
    success: [{ request: { $case: 'requestTxn', value: P.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', value: put('n', '1') } }], failure: [{ request: { $case: 'requestPut', value: put('n', '2') } }] }) } }],
  }));

  // compaction errors
  for (let i = 0; i < 3; i++) await call(kv.put.bind(kv), put('c', String(i)));
  const cur = (await call(kv.range.bind(kv), range('c'))).header!.revision;
  await call(kv.compact.bind(kv), P.CompactionRequest.fromPartial({ revision: cur - 1n, physical: true }));
  const compacted = await grpcError(call(kv.range.bind(kv), range('c', { revision: cur - 2n })));
  assert.equal(compacted.code, GrpcCode.OutOfRange);
  assert.equal(compacted.details, 'etcdserver: mvcc: required revision has been compacted');
  const again = await grpcError(call(kv.compact.bind(kv), P.CompactionRequest.fromPartial({ revision: cur - 2n })));
  assert.equal(again.details, 'etcdserver: mvcc: required revision has been compacted');
  const future = await grpcError(call(kv.compact.bind(kv), P.CompactionRequest.fromPartial({ revision: cur + 100n })));
  assert.equal(future.details, 'etcdserver: mvcc: required revision is a future revision');
  // the server is still fine
  assert.equal((await call(kv.range.bind(kv), range('c'))).kvs[0].value.toString(), '2');
});

test('Txn: compares, branches, nested txns, reads see earlier writes, one revision', async (t) => {
  const m = await startMember(t);
  const { kv } = connect(t, m.clientUrls[0]);
  const r0 = await call(kv.put.bind(kv), put('x', '1'));
  const rev0 = r0.header!.revision;
  const cmp = (target: etcdserverpb.Compare_CompareTarget, result: etcdserverpb.Compare_CompareResult, u: etcdserverpb.Compare['targetUnion'], key = 'x') =>
    P.Compare.fromPartial({ key: b(key), target, result, targetUnion: u });
  const T = P.Compare_CompareTarget;
  const R = P.Compare_CompareResult;
  const resp = await call(kv.txn.bind(kv), P.TxnRequest.fromPartial({
    compare: [
      cmp(T.VALUE, R.EQUAL, { $case: 'value', value: b('1') }),
      cmp(T.VERSION, R.EQUAL, { $case: 'version', value: 1n }),
      cmp(T.MOD, R.LESS, { $case: 'modRevision', value: rev0 + 1n }),
      cmp(T.CREATE, R.GREATER, { $case: 'createRevision', value: 0n }),
      cmp(T.LEASE, R.EQUAL, { $case: 'lease', value: 0n }),
      cmp(T.VERSION, R.EQUAL, { $case: 'version', value: 0n }, 'missing'),
    ],
    success: [
      { request: { $case: 'requestPut', value: put('y', '2') } },
      { request: { $case: 'requestPut', value: put('z', '3') } },
      { request: { $case: 'requestRange', value: range('y') } },
      { request: { $case: 'requestTxn', value: P.TxnRequest.fromPartial({ compare: [cmp(T.VALUE, R.EQUAL, { $case: 'value', value: b('nope') })], failure: [{ request: { $case: 'requestDeleteRange', value: P.DeleteRangeRequest.fromPartial({ key: b('x') }) } }] }) } },
    ],
    failure: [{ request: { $case: 'requestPut', value: put('fail', '1') } }],
  }));
  assert.equal(resp.succeeded, true);
  assert.equal(resp.header?.revision, rev0 + 1n);
  const rr = resp.responses[2].response;
  assert.equal(rr?.$case, 'responseRange');
  if (rr?.$case === 'responseRange') assert.equal(rr.value.kvs[0].value.toString(), '2');
  const nested = resp.responses[3].response;
  assert.equal(nested?.$case, 'responseTxn');
  if (nested?.$case === 'responseTxn') assert.equal(nested.value.succeeded, false);
  const after = await call(kv.range.bind(kv), range('a', { rangeEnd: b('~') }));
  assert.deepEqual(after.kvs.map((k) => [k.key.toString(), k.modRevision]), [['y', rev0 + 1n], ['z', rev0 + 1n]]);
  // value compare on a missing key is false; failure branch runs
  const f = await call(kv.txn.bind(kv), P.TxnRequest.fromPartial({
    compare: [cmp(T.VALUE, R.EQUAL, { $case: 'value', value: b('') }, 'missing')],
    failure: [{ request: { $case: 'requestRange', value: range('y') } }],
  }));
  assert.equal(f.succeeded, false);
  assert.equal(f.header?.revision, rev0 + 1n);
  // compare over a range: every key must match
  const rangeCmp = await call(kv.txn.bind(kv), P.TxnRequest.fromPartial({
    compare: [P.Compare.fromPartial({ key: b('y'), rangeEnd: b('zz'), target: T.VERSION, result: R.EQUAL, targetUnion: { $case: 'version', value: 1n } })],
  }));
  assert.equal(rangeCmp.succeeded, true);
});

test('KV: concurrent puts are batched and all acknowledged in order', async (t) => {
  const m = await startMember(t);
  const { kv } = connect(t, m.clientUrls[0]);
  const n = 300;
  const resps = await Promise.all(Array.from({ length: n }, (_, i) => call(kv.put.bind(kv), put(`p/${i}`, String(i)))));
  const revs = resps.map((r) => r.header!.revision).sort((x, y) => (x < y ? -1 : 1));
  for (let i = 1; i < n; i++) assert.equal(revs[i], revs[i - 1] + 1n);
  const r = await call(kv.range.bind(kv), range('p/', { rangeEnd: b('p0'), countOnly: true }));
  assert.equal(r.count, BigInt(n));
});

test('bad input never crashes or hangs: malformed protobuf, odd enums, deep txns, random bytes', async (t) => {
  const m = await startMember(t);
  const { kv } = connect(t, m.clientUrls[0]);
  const raw = (path: string, bytes: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) => {
      (kv as unknown as { makeUnaryRequest: Function }).makeUnaryRequest(path, (x: Buffer) => x, (x: Buffer) => x, bytes, (err: { code: number; details: string } | null) =>
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }));
    });
  const bad = await raw('/etcdserverpb.KV/Put', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  assert.equal(bad.code, GrpcCode.Internal);
  assert.match(bad.details, /^grpc: error unmarshalling request/);
  // seeded random payloads to every KV method: each gets an answer
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 60; i++) {
    const len = Math.floor(rnd() * 40);
    const bytes = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
    const method = ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'][i % 5];
    const r = await raw(`/etcdserverpb.KV/${method}`, bytes);
    assert.ok(Number.isInteger(r.code));
  }
  const weird = await call(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: b('a'), rangeEnd: Buffer.of(0), limit: -5n, sortOrder: 7 as etcdserverpb.RangeRequest_SortOrder, sortTarget: 9 as etcdserverpb.RangeRequest_SortTarget }));
  assert.ok(Array.isArray(weird.kvs));
  let nested = P.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', value: put('deep', 'x') } }] });
  for (let i = 0; i < 40; i++) nested = P.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestTxn', value: nested } }] });
  const deep = await call(kv.txn.bind(kv), nested);
  assert.equal(deep.succeeded, true);
  assert.equal((await call(kv.range.bind(kv), range('deep'))).kvs[0].value.toString(), 'x');
  // still serving
  await call(kv.put.bind(kv), put('alive', '1'));
});
