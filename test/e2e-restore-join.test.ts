// A cluster restored from a snapshot grows: a real etcd 3.4.23's snapshot, `etcdctl snapshot
// restore`, tsetcd started on the restored dir, then a second tsetcd added with `member add` and
// `--initial-cluster-state existing`. The restored data is in no raft log entry, so the new member
// must be sent a snapshot; it must serve the restored keys and log "enabled capabilities for
// version" (etcd's e2e TestIssue6361 waits for that line).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startEtcd } from './differential/harness.js';
import { startTsetcd, tempDir } from './kit/tsetcd-process.js';

function etcdctl(args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: '3' };
  return new Promise((resolve, reject) =>
    execFile('etcdctl', args, { env }, (err, stdout, stderr) => (err ? reject(new Error(`etcdctl ${args.join(' ')}: ${stderr}`)) : resolve(stdout))),
  );
}

test('a member added to a cluster restored from an etcd snapshot gets the restored keys', async (t) => {
  const dir = await tempDir(t);
  const etcd = await startEtcd(t);
  for (const i of [1, 2, 3]) await etcdctl(['--endpoints', etcd.client, 'put', `foo${i}`, `val${i}`]);
  const snap = join(dir, 'etcd.snapshot');
  await etcdctl(['--endpoints', etcd.client, 'snapshot', 'save', snap]);
  await etcd.stop();

  const p1 = `http://127.0.0.1:${await freePort()}`;
  const p2 = `http://127.0.0.1:${await freePort()}`;
  await etcdctl(['snapshot', 'restore', snap, '--name', 'r1', '--initial-cluster', `r1=${p1}`, '--initial-advertise-peer-urls', p1, '--data-dir', join(dir, 'r1')]);
  const r1 = await startTsetcd(t, join(dir, 'r1'), ['--name', 'r1', '--listen-peer-urls', p1, '--initial-advertise-peer-urls', p1, '--initial-cluster', `r1=${p1}`]);
  assert.equal(await etcdctl(['--endpoints', r1.endpoint, 'get', 'foo2', '--print-value-only']), 'val2\n');

  assert.match(await etcdctl(['--endpoints', r1.endpoint, 'member', 'add', 'r2', `--peer-urls=${p2}`]), / added to cluster /);
  const r2 = await startTsetcd(t, join(dir, 'r2'), [
    '--name', 'r2', '--listen-peer-urls', p2, '--initial-advertise-peer-urls', p2,
    '--initial-cluster', `r1=${p1},r2=${p2}`, '--initial-cluster-state', 'existing',
  ]);
  for (const i of [1, 2, 3]) assert.equal(await etcdctl(['--endpoints', r2.endpoint, 'get', `foo${i}`, '--print-value-only', '--consistency=s']), `val${i}\n`);
  assert.ok(r2.logs.some((l) => l.includes('"enabled capabilities for version"')), 'the joining member enables the cluster version');
});
