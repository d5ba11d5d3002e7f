// Restart: everything written is there after stop + start, at the same revisions; leases come
// back with their TTL; the member keeps its IDs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '@tsetcd/proto';
import { startServer } from '../src/embed/index.js';
import { connect, call, b, tempDir } from './server-helpers.js';

const P = etcdserverpb;

test('restart keeps keys, revisions, history, leases, compaction and IDs', async (t) => {
  const dataDir = await tempDir(t);
  const opts = { dataDir, listenClientUrls: ['http://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200 };
  let m = await startServer(opts);
  await m.ready;
  let c = connect(t, m.clientUrls[0]);
  for (let i = 0; i < 50; i++) await call(c.kv.put.bind(c.kv), P.PutRequest.fromPartial({ key: b(`k${i % 10}`), value: b(`v${i}`) }));
  const lease = await call(c.lease.leaseGrant.bind(c.lease), P.LeaseGrantRequest.fromPartial({ TTL: 300n }));
  await call(c.kv.put.bind(c.kv), P.PutRequest.fromPartial({ key: b('leased'), value: b('x'), lease: lease.ID }));
  await call(c.kv.compact.bind(c.kv), P.CompactionRequest.fromPartial({ revision: 20n, physical: true }));
  const before = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('\0'), rangeEnd: b('\0') }));
  const hist = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('k3'), revision: 30n }));
  const ids = [m.server.memberId, m.server.clusterId];
  await m.close();

  m = await startServer(opts);
  t.after(() => m.close());
  await m.ready;
  c = connect(t, m.clientUrls[0]);
  assert.deepEqual([m.server.memberId, m.server.clusterId], ids);
  const after = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('\0'), rangeEnd: b('\0') }));
  assert.deepEqual(after.kvs, before.kvs);
  assert.equal(after.header?.revision, before.header?.revision);
  const hist2 = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('k3'), revision: 30n }));
  assert.deepEqual(hist2.kvs, hist.kvs);
  await assert.rejects(call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('k3'), revision: 10n })), /required revision has been compacted/);
  const ttl = await call(c.lease.leaseTimeToLive.bind(c.lease), P.LeaseTimeToLiveRequest.fromPartial({ ID: lease.ID, keys: true }));
  assert.equal(ttl.grantedTTL, 300n);
  assert.ok(ttl.TTL > 290n && ttl.TTL <= 300n, `remaining ${ttl.TTL}`);
  assert.deepEqual(ttl.keys.map(String), ['leased']);
  // revoking after restart still deletes the attached key
  await call(c.lease.leaseRevoke.bind(c.lease), P.LeaseRevokeRequest.fromPartial({ ID: lease.ID }));
  const gone = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('leased') }));
  assert.equal(gone.kvs.length, 0);
  // a watch from before the restart is served from MVCC history (with prev_kv)
  const ws = c.watch.watch();
  ws.on('error', () => undefined);
  const evs: Array<{ key: string; rev: bigint; prev?: string }> = [];
  const done = new Promise<void>((resolve) => ws.on('data', (r: etcdserverpb.WatchResponse) => {
    for (const e of r.events) evs.push({ key: e.kv!.key.toString(), rev: e.kv!.modRevision, prev: e.prevKv?.value.toString() });
    if (evs.length >= 2) resolve();
  }));
  ws.write({ requestUnion: { $case: 'createRequest', value: P.WatchCreateRequest.fromPartial({ key: b('k3'), startRevision: 30n, prevKv: true }) } });
  await done;
  ws.end();
  assert.deepEqual(evs.map((e) => e.key), ['k3', 'k3']);
  for (let i = 1; i < evs.length; i++) assert.ok(evs[i].rev > evs[i - 1].rev);
  assert.ok(evs.every((e) => e.prev !== undefined && e.prev.startsWith('v')), JSON.stringify(evs, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  // writes continue at the next revision
  const p = await call(c.kv.put.bind(c.kv), P.PutRequest.fromPartial({ key: b('new'), value: b('1') }));
  assert.equal(p.header?.revision, before.header!.revision + 2n);
});

test('snapshots every --snapshot-count entries; restart from snapshot + WAL tail', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dataDir = await tempDir(t);
  const opts = { dataDir, listenClientUrls: ['http://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200, snapshotCount: 25 };
  let m = await startServer(opts);
  await m.ready;
  let c = connect(t, m.clientUrls[0]);
  for (let i = 0; i < 120; i++) await call(c.kv.put.bind(c.kv), P.PutRequest.fromPartial({ key: b(`s${i}`), value: b(String(i)) }));
  const before = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('s'), rangeEnd: b('t') }));
  await m.close();
  const snaps = (await readdir(join(dataDir, 'member', 'snap'))).filter((n) => n.endsWith('.snap'));
  assert.ok(snaps.length >= 1, `no snapshot files: ${snaps}`);
  m = await startServer(opts);
  t.after(() => m.close());
  await m.ready;
  c = connect(t, m.clientUrls[0]);
  const after = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('s'), rangeEnd: b('t') }));
  assert.equal(after.count, 120n);
  assert.deepEqual(after.kvs, before.kvs);
  const p = await call(c.kv.put.bind(c.kv), P.PutRequest.fromPartial({ key: b('next'), value: b('1') }));
  assert.equal(p.header?.revision, before.header!.revision + 1n);
});

test('--wal-dir keeps the WAL apart from the data dir, across restarts', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dataDir = await tempDir(t);
  const walDir = join(await tempDir(t), 'wal');
  const opts = { dataDir, walDir, listenClientUrls: ['http://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200 };
  let m = await startServer(opts);
  await m.ready;
  let c = connect(t, m.clientUrls[0]);
  const w = await call(c.kv.put.bind(c.kv), P.PutRequest.fromPartial({ key: b('w'), value: b('1') }));
  await m.close();
  assert.ok((await readdir(walDir)).some((n) => n.endsWith('.wal')));
  assert.ok(!(await readdir(join(dataDir, 'member'))).includes('wal'));
  m = await startServer(opts);
  t.after(() => m.close());
  await m.ready;
  c = connect(t, m.clientUrls[0]);
  const r = await call(c.kv.range.bind(c.kv), P.RangeRequest.fromPartial({ key: b('w') }));
  assert.equal(r.kvs[0].modRevision, w.header!.revision);
});
