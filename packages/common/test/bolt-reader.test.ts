// The bbolt reader against files the real etcd wrote (a snapshot of etcd 3.4.23) and against
// damaged bytes: every damage ends in BoltReadError, never another exception or a hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoltReader, BoltReadError, looksLikeBolt } from '../src/bolt-reader.js';
import { mulberry32 } from '../src/prng.js';
import { execFileSync } from 'node:child_process';
import { startRealEtcd } from '../../../test/kit/real-etcd.js';

const etcdctl = (endpoint: string, ...args: string[]): string =>
  execFileSync('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }).toString();

test('bbolt reader: buckets and keys of a snapshot the real etcd wrote', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-bolt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etcd = await startRealEtcd({ dir });
  t.after(() => etcd.kill());
  for (const k of ['a', 'b', 'c', 'd', 'e']) etcdctl(etcd.endpoint, 'put', k, `v-${k}`);
  etcdctl(etcd.endpoint, 'put', 'a', 'again');
  etcdctl(etcd.endpoint, 'del', 'e');
  etcdctl(etcd.endpoint, 'snapshot', 'save', join(dir, 'snap.db'));
  await etcd.stop();
  const file = readFileSync(join(dir, 'snap.db'));
  assert.ok(looksLikeBolt(file));
  const r = new BoltReader(file.subarray(0, file.length - 32)); // the sha256 trailer is not part of the db
  assert.deepEqual(r.bucketNames(), ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'key', 'lease', 'members', 'members_removed', 'meta']);
  const keys = r.buckets().find((b) => b.name === 'key')!;
  assert.equal(keys.entries.length, 7, 'five puts, one overwrite, one tombstone: seven revisions');
  assert.equal(r.size, r.meta.highWaterPgid * BigInt(r.meta.pageSize));
  const meta = r.buckets().find((b) => b.name === 'meta')!;
  assert.ok(meta.entries.some(([k]) => k.toString() === 'consistent_index'));

  // damage: truncations and random byte flips never escape as anything but BoltReadError
  const rand = mulberry32(13);
  const db = file.subarray(0, file.length - 32);
  const tries: Buffer[] = [Buffer.alloc(0), Buffer.alloc(8192), db.subarray(0, 4096), db.subarray(0, db.length - 4096)];
  for (let i = 0; i < 300; i++) {
    const bad = Buffer.from(db);
    for (let n = 0; n < 4; n++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
    tries.push(bad);
  }
  for (const bytes of tries) {
    try {
      const rr = new BoltReader(bytes);
      rr.buckets();
    } catch (e) {
      assert.ok(e instanceof BoltReadError, `${(e as Error).stack}`);
    }
  }
});
