// Maintenance.Hash side by side: etcd 3.4.23 and tsetcd, started one after the other with the
// same name and ports (so the same member and cluster IDs), play the same writes; after each
// step both must report the same hash. etcd's hash leaves out the stored consistent index
// (mvcc.DefaultIgnores), so a request that moves only the raft index (deleting a missing key)
// must not change it.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { etcdserverpb } from '@tsetcd/proto';
import { P, connect, freePort, isError, show, startEtcd, startTsetcd, unary, type Clients, type StartAt } from './harness.js';

interface Observed {
  step: string;
  hash: number;
  revision: bigint;
  raftIndex: bigint;
}

async function observe(c: Clients, step: string): Promise<Observed> {
  const h = await unary<etcdserverpb.HashRequest, etcdserverpb.HashResponse>(c.maintenance, 'hash', P.HashRequest.fromPartial({}));
  const s = await unary<etcdserverpb.StatusRequest, etcdserverpb.StatusResponse>(c.maintenance, 'status', P.StatusRequest.fromPartial({}));
  if (isError(h) || isError(s)) assert.fail(`${step}: ${show(isError(h) ? h : s)}`);
  return { step, hash: h.hash, revision: h.header!.revision, raftIndex: s.raftIndex };
}

async function ok(p: Promise<unknown>, what: string): Promise<void> {
  const r = await p;
  if (isError(r)) assert.fail(`${what}: ${show(r)}`);
}

async function play(c: Clients): Promise<Observed[]> {
  const out: Observed[] = [await observe(c, 'fresh')];
  await ok(unary(c.kv, 'put', P.PutRequest.fromPartial({ key: Buffer.from('foo'), value: Buffer.from('bar') })), 'put');
  out.push(await observe(c, 'put foo'));
  await ok(unary(c.kv, 'deleteRange', P.DeleteRangeRequest.fromPartial({ key: Buffer.from('missing') })), 'delete missing');
  out.push(await observe(c, 'delete a missing key'));
  await ok(unary(c.lease, 'leaseGrant', P.LeaseGrantRequest.fromPartial({ ID: 0x1234n, TTL: 600n })), 'lease grant');
  await ok(unary(c.kv, 'put', P.PutRequest.fromPartial({ key: Buffer.from('leased'), value: Buffer.from('v'), lease: 0x1234n })), 'put with lease');
  out.push(await observe(c, 'lease + leased key'));
  await ok(unary(c.kv, 'deleteRange', P.DeleteRangeRequest.fromPartial({ key: Buffer.from('foo') })), 'delete foo');
  await ok(unary(c.kv, 'compact', P.CompactionRequest.fromPartial({ revision: 3n, physical: true })), 'compact');
  out.push(await observe(c, 'delete + compact'));
  return out;
}

async function freshAt(t: TestContext, clientPort: number, peerPort: number): Promise<StartAt> {
  const dir = await mkdtemp(join(tmpdir(), 'hash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, clientPort, peerPort };
}

test('Maintenance.Hash equals etcd 3.4.23 step by step, and leaves out the consistent index', async (t) => {
  const clientPort = await freePort();
  const peerPort = await freePort();

  const etcd = await startEtcd(t, await freshAt(t, clientPort, peerPort));
  const fromEtcd = await play(connect(t, etcd.client));
  await etcd.stop();

  const ts = await startTsetcd(t, await freshAt(t, clientPort, peerPort));
  const fromTsetcd = await play(connect(t, ts.client));
  await ts.stop();

  // deleting a missing key: one more raft entry, same revision, same hash (on both servers)
  for (const run of [fromEtcd, fromTsetcd]) {
    const [, put, del] = run;
    assert.equal(del.revision, put.revision);
    assert.ok(del.raftIndex > put.raftIndex, `raft index ${put.raftIndex} -> ${del.raftIndex}`);
    assert.equal(del.hash, put.hash);
  }
  assert.deepEqual(
    fromTsetcd.map((o) => [o.step, o.hash, o.revision]),
    fromEtcd.map((o) => [o.step, o.hash, o.revision]),
  );
});
