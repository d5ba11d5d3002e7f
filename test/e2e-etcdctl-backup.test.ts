// etcd's offline tools on a tsetcd member's data dir: the real `etcdctl backup` (3.4.23, v2 mode)
// reads tsetcd's WAL and snapshot files (etcd's formats) and writes a backup dir, and tsetcd
// starts from that dir with --force-new-cluster serving the v2 data, as etcd does; so does a
// backup of a real etcd 3.4.23 member (whose v2 entries are bare etcdserverpb.Requests).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTsetcd, tempDir, type TsetcdProcess } from './kit/tsetcd-process.js';
import { run } from './kit/processes.js';
import { startRealEtcd } from './kit/real-etcd.js';
import { EntryType } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import { Wal } from '../packages/server/src/wal/index.js';
import { encodeWalMetadata } from '../packages/server/src/etcdserver/wal-metadata.js';

function etcdctl(api: '2' | '3', endpoint: string, args: string[]) {
  return run('etcdctl', ['--endpoints', `http://${endpoint.replace(/^http:\/\//, '')}`, ...args], { env: { ETCDCTL_API: api } });
}

async function stop(p: TsetcdProcess): Promise<void> {
  p.child.kill('SIGTERM');
  const e = await p.exited;
  assert.ok(e.code === 0 || e.signal === 'SIGTERM', `tsetcd exit: ${JSON.stringify(e)}`);
}

async function backupAndRestart(t: TestContext, snapshotCount: number): Promise<void> {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  const backup = join(dir, 'backup');
  const m1 = await startTsetcd(t, src, ['--enable-v2', '--snapshot-count', String(snapshotCount)]);
  assert.equal((await etcdctl('3', m1.endpoint, ['put', 'v3key', '123'])).stdout, 'OK\n');
  assert.equal((await etcdctl('2', m1.endpoint, ['set', 'foo1', 'bar1'])).stdout, 'bar1\n');
  assert.equal((await etcdctl('2', m1.endpoint, ['mkdir', '/dir'])).code, 0);
  const members1 = await etcdctl('2', m1.endpoint, ['member', 'list']);

  // backed up while the member runs (etcd's tests do the same without --with-v3)
  const b = await etcdctl('2', m1.endpoint, ['backup', '--data-dir', src, '--backup-dir', backup]);
  assert.equal(b.code, 0, b.stderr);
  assert.doesNotMatch(b.stderr, /broken|failed/);
  // (with snapshots the bootstrap ConfChange is in the snapshot, not in the log after it)
  if (snapshotCount > 100) assert.match(b.stderr, /ignoring EntryConfChange raft entry/);
  await stop(m1);
  // etcdctl renames snapshot files it cannot read to .broken: none here
  const snaps = await readdir(join(src, 'member', 'snap'));
  assert.ok(!snaps.some((n) => n.endsWith('.broken')), snaps.join(' '));
  if (snapshotCount === 1) assert.ok((await readdir(join(backup, 'member', 'snap'))).some((n) => n.endsWith('.snap')), 'backup holds the snapshot');

  const m2 = await startTsetcd(t, backup, ['--enable-v2', '--force-new-cluster']);
  assert.ok(m2.logs.some((l) => l.includes('"forcing restart member"')), 'logs the forced restart');
  assert.equal((await etcdctl('2', m2.endpoint, ['get', 'foo1'])).stdout, 'bar1\n');
  assert.equal((await etcdctl('2', m2.endpoint, ['ls', '/'])).stdout.split('\n').sort().join(' '), ' /dir /foo1');
  // without --with-v3 the v3 data is not backed up
  assert.equal((await etcdctl('3', m2.endpoint, ['get', 'v3key'])).stdout, '');
  assert.equal((await etcdctl('2', m2.endpoint, ['set', 'foo2', 'bar2'])).stdout, 'bar2\n');
  assert.equal((await etcdctl('3', m2.endpoint, ['put', 'after', 'backup'])).stdout, 'OK\n');
  // a new member of a new cluster: one member, another ID than the backed-up one
  const members2 = (await etcdctl('2', m2.endpoint, ['member', 'list'])).stdout.trim().split('\n');
  assert.equal(members2.length, 1, members2.join('\n'));
  assert.notEqual(members2[0].split(':')[0], members1.stdout.split(':')[0]);
  await stop(m2);

  // and it restarts from its own files like any member
  const m3 = await startTsetcd(t, backup, ['--enable-v2']);
  assert.equal((await etcdctl('2', m3.endpoint, ['get', 'foo1'])).stdout, 'bar1\n');
  assert.equal((await etcdctl('2', m3.endpoint, ['get', 'foo2'])).stdout, 'bar2\n');
  assert.equal((await etcdctl('3', m3.endpoint, ['get', 'after', '--print-value-only'])).stdout, 'backup\n');
  await stop(m3);
}

test('etcdctl backup of a tsetcd data dir without a snapshot: tsetcd starts from the backup with the v2 data', async (t) => {
  await backupAndRestart(t, 100_000);
});

test('etcdctl backup of a tsetcd data dir with snapshots: the newest snapshot and the log after it', async (t) => {
  await backupAndRestart(t, 1);
});

test('etcdctl backup of a real etcd 3.4.23 data dir: tsetcd starts from it with the v2 data', async (t) => {
  for (const snapshotCount of [100_000, 2]) {
    const dir = await tempDir(t);
    const backup = join(dir, 'backup');
    const etcd = await startRealEtcd({ dir, args: ['--enable-v2', '--snapshot-count', String(snapshotCount)] });
    t.after(() => etcd.kill());
    assert.equal((await etcdctl('2', etcd.endpoint, ['set', 'foo1', 'bar1'])).stdout, 'bar1\n');
    assert.equal((await etcdctl('2', etcd.endpoint, ['set', '/d/x', 'y'])).stdout, 'y\n');
    const b = await etcdctl('2', etcd.endpoint, ['backup', '--data-dir', etcd.dataDir, '--backup-dir', backup]);
    assert.equal(b.code, 0, b.stderr);
    await etcd.stop();

    const m = await startTsetcd(t, backup, ['--enable-v2', '--force-new-cluster']);
    assert.equal((await etcdctl('2', m.endpoint, ['get', 'foo1'])).stdout, 'bar1\n');
    assert.equal((await etcdctl('2', m.endpoint, ['get', '/d/x'])).stdout, 'y\n');
    assert.equal((await etcdctl('2', m.endpoint, ['set', 'foo2', 'bar2'])).stdout, 'bar2\n');
    assert.equal((await etcdctl('2', m.endpoint, ['member', 'list'])).stdout.trim().split('\n').length, 1);
    await stop(m);
  }
});

test("etcdctl backup reads a log of many segments (the crc chain across segment cuts is etcd's)", async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  const backup = join(dir, 'backup');
  await mkdir(join(src, 'member', 'snap'), { recursive: true });
  const wal = await Wal.create(join(src, 'member', 'wal'), encodeWalMetadata(0x1234n, 0x5678n), { segmentBytes: 16 * 1024 });
  const n = 300;
  for (let i = 1; i <= n; i++) {
    const req = tsetcdpb.InternalRaftRequest.fromPartial({ header: { ID: BigInt(i) }, ID: BigInt(i), v2: { ID: BigInt(i), Method: 'PUT', Path: `/1/k${i}`, Val: 'v'.repeat(100) } });
    await wal.save({ term: 1, vote: 0x1234n, commit: i }, [{ index: i, term: 1, type: EntryType.Normal, data: tsetcdpb.InternalRaftRequest.encode(req).finish() }], i === n);
  }
  await wal.close();
  assert.ok((await readdir(join(src, 'member', 'wal'))).filter((f) => f.endsWith('.wal')).length >= 3, 'several segments');

  const b = await run('etcdctl', ['backup', '--data-dir', src, '--backup-dir', backup], { env: { ETCDCTL_API: '2' } });
  assert.equal(b.code, 0, b.stderr);
  // etcdctl's rewritten log: every entry kept (all are v2 requests), in order
  const r = await Wal.open(join(backup, 'member', 'wal'));
  t.after(() => r.wal.close());
  assert.equal(r.entries.length, n);
  assert.equal(r.hardState.commit, n);
  assert.equal(tsetcdpb.InternalRaftRequest.decode(r.entries[n - 1].data).v2?.Path, `/1/k${n}`);
});
