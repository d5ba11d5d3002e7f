// Snapshots in etcd's format, checked with the real etcd 3.4 tools: tsetcd's Maintenance.Snapshot
// is a bbolt file that `etcdctl snapshot status` reads like etcd's own (same revision and key
// count as a real etcd given the same history), that `etcdctl snapshot restore` turns into a data
// dir the real etcd starts from with every key, revision, lease and the compaction; and the
// reverse: tsetcd (bin/tsetcd) starts from a data dir restored from a real etcd's snapshot.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BoltReader } from '@tsetcd/common';
import { tempDir } from './server-helpers.js';
import { run } from '../../../test/kit/processes.js';
import { startRealEtcd, type RealEtcd } from '../../../test/kit/real-etcd.js';

const tsetcdBin = fileURLToPath(new URL('../../../bin/tsetcd', import.meta.url));
const tsetcdctlBin = fileURLToPath(new URL('../../../bin/tsetcdctl', import.meta.url));
const startTimeoutMs = 30_000;

const etcdctl = (args: string[], timeoutMs = 20_000) => run('etcdctl', args, { timeoutMs });

async function ctlOk(args: string[]): Promise<string> {
  const r = await etcdctl(args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function randomPorts(): [number, number] {
  const p = 20000 + Math.floor(Math.random() * 20000) * 2;
  return [p, p + 1];
}

/** Starts a server (real etcd or bin/tsetcd) through test/kit: ready once it logs that it serves clients; killed by t.after. */
async function startProc(t: TestContext, bin: string, dataDir: string, name: string): Promise<RealEtcd> {
  const p = await startRealEtcd({ bin, dir: dirname(dataDir), dataDir, name, readyTimeoutMs: startTimeoutMs });
  t.after(() => p.kill());
  return p;
}

/** The same history on any server: puts, an overwrite, a delete, a leased key, a compaction. */
async function writeHistory(endpoint: string): Promise<{ lease: string }> {
  const e = ['--endpoints', endpoint];
  for (const k of ['a', 'b', 'c', 'd', 'e']) await ctlOk([...e, 'put', k, `value-${k}`]); // rev 2..6
  await ctlOk([...e, 'put', 'a', 'again']); // 7
  await ctlOk([...e, 'del', 'b']); // 8
  const lease = /lease ([0-9a-f]+) granted/.exec(await ctlOk([...e, 'lease', 'grant', '600']))![1];
  await ctlOk([...e, 'put', 'l', 'leased', '--lease', lease]); // 9
  await ctlOk([...e, 'put', 'big', 'x'.repeat(10_000)]); // 10: spans overflow pages
  await ctlOk([...e, 'compact', '7', '--physical']);
  return { lease };
}

interface KvJson {
  key: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: string;
  lease?: number;
}

async function allKeys(endpoint: string): Promise<{ revision: number; kvs: KvJson[] }> {
  const j = JSON.parse(await ctlOk(['--endpoints', endpoint, 'get', '', '--prefix', '-w', 'json'])) as { header: { revision: number }; kvs: KvJson[] };
  return { revision: j.header.revision, kvs: j.kvs };
}

interface StatusJson {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

async function snapshotStatus(file: string): Promise<StatusJson> {
  return JSON.parse(await ctlOk(['snapshot', 'status', file, '-w', 'json'])) as StatusJson;
}

async function restore(file: string, dataDir: string): Promise<void> {
  const [, peer] = randomPorts();
  await ctlOk(['snapshot', 'restore', file, '--data-dir', dataDir, '--name', 'r1', '--initial-cluster', `r1=http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`]);
}

test('snapshot: tsetcd snapshot is a bbolt file etcdctl reads and restores; real etcd starts from it', async (t) => {
  const dir = await tempDir(t, 'tsetcd-snap-bolt-');
  const [ours, real] = await Promise.all([startProc(t, tsetcdBin, join(dir, 'ours'), 'ours'), startProc(t, 'etcd', join(dir, 'real'), 'real')]);
  const [oursHist] = await Promise.all([writeHistory(ours.endpoint), writeHistory(real.endpoint)]);
  const before = await allKeys(ours.endpoint);
  assert.equal(before.revision, 10);
  assert.deepEqual(before.kvs.map((kv) => kv.key), ['a', 'big', 'c', 'd', 'e', 'l'].map((k) => Buffer.from(k).toString('base64')));

  const oursFile = join(dir, 'ours.db');
  const realFile = join(dir, 'real.db');
  await ctlOk(['--endpoints', ours.endpoint, 'snapshot', 'save', oursFile]);
  await ctlOk(['--endpoints', real.endpoint, 'snapshot', 'save', realFile]);

  // etcdctl's status: bbolt integrity check passes, same revision and key count as etcd's own
  const [so, sr] = await Promise.all([snapshotStatus(oursFile), snapshotStatus(realFile)]);
  assert.equal(so.revision, 10);
  assert.equal(so.revision, sr.revision);
  assert.equal(so.totalKey, sr.totalKey, `tsetcd buckets ${JSON.stringify(new BoltReader(readFileSync(oursFile)).buckets().map((b) => [b.name, b.entries.length]))} vs etcd ${JSON.stringify(new BoltReader(readFileSync(realFile)).buckets().map((b) => [b.name, b.entries.length]))}`);
  // the file is the bbolt data (whole pages) followed by the server's sha256 of it
  const bytes = readFileSync(oursFile);
  const db = bytes.subarray(0, bytes.length - 32);
  assert.equal(db.length % 4096, 0);
  assert.deepEqual(bytes.subarray(db.length), createHash('sha256').update(db).digest());
  assert.equal(so.totalSize, db.length);
  assert.deepEqual(new BoltReader(db).bucketNames(), new BoltReader(readFileSync(realFile)).bucketNames());

  // etcdctl restore -> the real etcd serves the same keys, revisions, lease and compaction
  await restore(oursFile, join(dir, 'restored'));
  const etcdOnOurs = await startProc(t, 'etcd', join(dir, 'restored'), 'r1');
  const after = await allKeys(etcdOnOurs.endpoint);
  assert.equal(after.revision, before.revision);
  assert.deepEqual(after.kvs, before.kvs);
  const ttl = await ctlOk(['--endpoints', etcdOnOurs.endpoint, 'lease', 'timetolive', oursHist.lease, '--keys']);
  assert.match(ttl, new RegExp(`lease ${oursHist.lease} granted with TTL\\(600s\\), remaining\\(\\d+s\\), attached keys\\(\\[l\\]\\)`));
  const compacted = await etcdctl(['--endpoints', etcdOnOurs.endpoint, 'get', 'a', '--rev', '6']);
  assert.match(compacted.stderr, /required revision has been compacted/);
  assert.match(await ctlOk(['--endpoints', etcdOnOurs.endpoint, 'get', 'a', '--rev', '7', '--print-value-only']), /^again\n/);
  assert.equal(await ctlOk(['--endpoints', etcdOnOurs.endpoint, 'put', 'new', 'write']), 'OK\n');
});

test('snapshot: tsetcd starts from a data dir restored from a real etcd snapshot (and from its own)', async (t) => {
  const dir = await tempDir(t, 'tsetcd-snap-bolt-rev-');
  const real = await startProc(t, 'etcd', join(dir, 'real'), 'real');
  const { lease } = await writeHistory(real.endpoint);
  const want = await allKeys(real.endpoint);
  const realFile = join(dir, 'real.db');
  await ctlOk(['--endpoints', real.endpoint, 'snapshot', 'save', realFile]);
  await restore(realFile, join(dir, 'restored'));

  const ours = await startProc(t, tsetcdBin, join(dir, 'restored'), 'r1');
  const got = await allKeys(ours.endpoint);
  assert.equal(got.revision, want.revision);
  assert.deepEqual(got.kvs, want.kvs);
  assert.match(await ctlOk(['--endpoints', ours.endpoint, 'lease', 'timetolive', lease, '--keys']), /attached keys\(\[l\]\)/);
  assert.match((await etcdctl(['--endpoints', ours.endpoint, 'get', 'a', '--rev', '6'])).stderr, /required revision has been compacted/);
  assert.match(await ctlOk(['--endpoints', ours.endpoint, 'member', 'list']), /, started, r1, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false/);
  assert.equal(await ctlOk(['--endpoints', ours.endpoint, 'put', 'new', 'write']), 'OK\n');

  // tsetcd -> snapshot -> tsetcdctl restore -> tsetcd again; a restart keeps the converted dir
  const ourFile = join(dir, 'ours.db');
  await ctlOk(['--endpoints', ours.endpoint, 'snapshot', 'save', ourFile]);
  const [, peer] = randomPorts();
  const restoredByUs = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const c = spawn(tsetcdctlBin, ['snapshot', 'restore', ourFile, '--data-dir', join(dir, 'restored-again'), '--name', 'r1', '--initial-cluster', `r1=http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(restoredByUs.code, 0, restoredByUs.stderr);
  for (let round = 0; round < 2; round++) {
    const again = await startProc(t, tsetcdBin, join(dir, 'restored-again'), 'r1');
    const gotAgain = await allKeys(again.endpoint);
    assert.equal(gotAgain.revision, want.revision + 1);
    assert.deepEqual(gotAgain.kvs.filter((kv) => Buffer.from(kv.key, 'base64').toString() !== 'new'), want.kvs);
    await again.stop();
  }
});
