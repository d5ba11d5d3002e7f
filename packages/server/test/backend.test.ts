import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backend, Buckets } from '../src/backend/backend.js';
import { BackendClosedError } from '../src/backend/errors.js';
import { waitFor } from '../../../test/kit/wait.js';

const b = (s: string): Buffer => Buffer.from(s);
const entries = (xs: Array<[Buffer, Buffer]>): string[][] => xs.map(([k, v]) => [k.toString(), v.toString()]);

// Child mode (the crash test below): stage data after a commit, then die without cleanup.
if (process.env.BACKEND_CRASH_CHILD !== undefined) {
  const be = Backend.open({ path: process.env.BACKEND_CRASH_CHILD, batchIntervalMs: 60_000 });
  be.put(Buckets.key, b('k1'), b('v1'));
  be.setConsistentIndex(1);
  be.commitSync();
  be.put(Buckets.key, b('k2'), b('v2'));
  be.putAux(Buckets.lease, 'l2', b('x'));
  be.setConsistentIndex(2);
  process.kill(process.pid, 'SIGKILL');
}

function tmpDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'backend-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('staged writes are visible at once and committed in batches', async (t) => {
  const be = Backend.open({ path: join(tmpDir(t), 'db'), batchIntervalMs: 50, batchLimitOps: 4 });
  t.after(() => be.close());
  const c0 = be.commitCount();
  be.put(Buckets.key, b('a'), b('1'));
  be.put(Buckets.key, b('c'), b('3'));
  assert.equal(be.get(Buckets.key, b('a'))?.toString(), '1');
  assert.equal(be.pendingCount(), 2);
  be.commitIfFull();
  assert.equal(be.commitCount(), c0, 'no commit below the batch limit');
  be.put(Buckets.key, b('b'), b('2'));
  be.delete(Buckets.key, b('c'));
  be.commitIfFull();
  assert.equal(be.commitCount(), c0 + 1);
  assert.equal(be.pendingCount(), 0);
  // committed + staged, staged delete hides a committed entry
  be.put(Buckets.key, b('d'), b('4'));
  be.delete(Buckets.key, b('a'));
  be.put(Buckets.key, b('b'), b('22'));
  assert.deepEqual(entries(be.range(Buckets.key)), [['b', '22'], ['d', '4']]);
  assert.deepEqual(entries(be.range(Buckets.key, b('b'), b('d'))), [['b', '22']]);
  assert.deepEqual(entries(be.range(Buckets.key, undefined, undefined, 1)), [['b', '22']]);
  assert.equal(be.get(Buckets.key, b('a')), undefined);
  // the interval commits what is left
  await waitFor('the pending writes committed', () => be.pendingCount() === 0);
  assert.equal(be.pendingCount(), 0);
  assert.ok(be.commitCount() >= c0 + 2);
  assert.deepEqual(entries(be.range(Buckets.key)), [['b', '22'], ['d', '4']]);
});

test('batch commits run on the LMDB write thread: in-flight batches stay readable, later commits never overtake them', async (t) => {
  const path = join(tmpDir(t), 'db');
  const be = Backend.open({ path, batchIntervalMs: 60_000, batchLimitOps: 3 });
  be.put(Buckets.key, b('a'), b('1'));
  be.put(Buckets.key, b('b'), b('1'));
  be.putAux(Buckets.lease, 'l', b('x'));
  be.setConsistentIndex(3);
  be.commitIfFull();
  assert.equal(be.committingCount(), 1, 'the full batch went to the write thread');
  assert.equal(be.pendingCount(), 0);
  assert.equal(be.get(Buckets.key, b('a'))?.toString(), '1');
  assert.deepEqual(entries(be.range(Buckets.key)), [['a', '1'], ['b', '1']]);
  assert.deepEqual(be.bucketNames().filter((n) => n === Buckets.lease), [Buckets.lease]);
  // newer writes to the same keys, committed while the first batch is in flight
  be.put(Buckets.key, b('a'), b('2'));
  be.delete(Buckets.key, b('b'));
  be.put(Buckets.key, b('c'), b('3'));
  be.setConsistentIndex(4);
  be.commitSync();
  assert.equal(be.committingCount(), 2, 'queued behind the in-flight batch');
  assert.deepEqual(entries(be.range(Buckets.key)), [['a', '2'], ['c', '3']]);
  assert.equal(be.get(Buckets.key, b('b')), undefined);
  await be.commitDurable();
  assert.equal(be.committingCount(), 0);
  assert.deepEqual(entries(be.range(Buckets.key)), [['a', '2'], ['c', '3']]);
  await be.close();
  const be2 = Backend.open(path);
  t.after(() => be2.close());
  assert.equal(be2.consistentIndex(), 4);
  assert.deepEqual(entries(be2.range(Buckets.key)), [['a', '2'], ['c', '3']]);
  assert.deepEqual(entries(be2.rangeAux(Buckets.lease)), [['l', 'x']]);
});

test('aux buckets and the consistent index survive reopen', async (t) => {
  const path = join(tmpDir(t), 'db');
  const be = Backend.open(path);
  be.putAux(Buckets.lease, 'lease-1', b('a'));
  be.putAux(Buckets.members, b('m1'), b('peer'));
  be.putAux(Buckets.lease, 'lease-2', b('b'));
  be.deleteAux(Buckets.lease, 'lease-1');
  be.setConsistentIndex(17);
  assert.equal(be.getAux(Buckets.lease, 'lease-2')?.toString(), 'b');
  await be.close();
  assert.throws(() => be.get(Buckets.lease, b('x')), BackendClosedError);
  const be2 = Backend.open(path);
  t.after(() => be2.close());
  assert.equal(be2.consistentIndex(), 17);
  assert.deepEqual(entries(be2.rangeAux(Buckets.lease)), [['lease-2', 'b']]);
  assert.deepEqual(entries(be2.rangeAux(Buckets.members)), [['m1', 'peer']]);
  assert.deepEqual(be2.rangeAux('never-written'), []);
});

test('a crash keeps exactly the last commit: data and consistent index together', (t) => {
  const path = join(tmpDir(t), 'db');
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BACKEND_CRASH_CHILD: path },
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const be = Backend.open(path);
  t.after(() => be.close());
  assert.equal(be.consistentIndex(), 1);
  assert.deepEqual(entries(be.range(Buckets.key)), [['k1', 'v1']]);
  assert.deepEqual(be.rangeAux(Buckets.lease), []);
});

test('defragment shrinks the file, keeps data and writes made meanwhile', async (t) => {
  const be = Backend.open(join(tmpDir(t), 'db'));
  t.after(() => be.close());
  const big = Buffer.alloc(2000, 7);
  const key = (i: number): Buffer => Buffer.from(`k${i.toString().padStart(6, '0')}`);
  for (let i = 0; i < 5000; i++) be.put(Buckets.key, key(i), big);
  await be.forceCommit();
  for (let i = 0; i < 5000; i++) if (i % 10 !== 0) be.delete(Buckets.key, key(i));
  await be.forceCommit();
  const before = be.size();
  const hashBefore = be.hash();
  assert.ok(be.sizeInUse() < before / 2, `in use ${be.sizeInUse()} of ${before}`);
  const p = be.defragment();
  be.put(Buckets.key, b('during'), b('x'));
  await p;
  assert.ok(be.size() < before / 3, `size ${be.size()} not below a third of ${before}`);
  assert.equal(be.get(Buckets.key, b('during'))?.toString(), 'x');
  be.delete(Buckets.key, b('during'));
  assert.equal(be.hash(), hashBefore);
  const rows = be.range(Buckets.key);
  assert.equal(rows.length, 500);
  assert.ok(rows.every(([, v]) => v.equals(big)));
});

test('size() is the data file as of the last commit: current right after commits and a defragment', async (t) => {
  const path = join(tmpDir(t), 'db');
  const be = Backend.open({ path, batchIntervalMs: 60_000 });
  t.after(() => be.close());
  const onDisk = (): number => statSync(join(path, 'data.mdb')).size;
  assert.equal(be.size(), onDisk());
  const big = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 32; i++) be.put(Buckets.key, b(`big${i}`), big);
  const staged = be.size();
  await be.forceCommit(); // on LMDB's write thread when a batch is in flight, else on the loop
  assert.ok(be.size() > staged + 32 * 64 * 1024, `size ${be.size()} after committing 2 MiB (was ${staged})`);
  assert.equal(be.size(), onDisk());
  for (let i = 0; i < 32; i++) be.delete(Buckets.key, b(`big${i}`));
  be.commitSync();
  assert.equal(be.size(), onDisk());
  const grown = be.size();
  await be.defragment();
  // read right after the defragment resolves, with no time for anything else to refresh it
  assert.ok(be.size() < grown / 4, `size ${be.size()} right after defragmenting ${grown}`);
  assert.equal(be.size(), onDisk());
});

test('copyTo makes a point-in-time snapshot that restoreFrom installs', async (t) => {
  const dir = tmpDir(t);
  const be = Backend.open(join(dir, 'db'));
  t.after(() => be.close());
  be.put(Buckets.key, b('a'), b('1'));
  be.putAux(Buckets.alarm, 'x', b('nospace'));
  be.setConsistentIndex(5);
  const file = join(dir, 'snap', 'db.snapshot');
  await be.copyTo(file);
  be.put(Buckets.key, b('b'), b('2'));
  Backend.restoreFrom(file, join(dir, 'restored'));
  const r = Backend.open(join(dir, 'restored'));
  t.after(() => r.close());
  assert.equal(r.consistentIndex(), 5);
  assert.deepEqual(entries(r.range(Buckets.key)), [['a', '1']]);
  assert.deepEqual(entries(r.rangeAux(Buckets.alarm)), [['x', 'nospace']]);
  be.delete(Buckets.key, b('b'));
  assert.equal(r.hash(), be.hash());
});

test('a read view holds every write made before it opened and none after; a defragment waits for it', async (t) => {
  const path = join(tmpDir(t), 'db');
  const be = Backend.open({ path, batchIntervalMs: 60_000 });
  t.after(() => be.close());
  be.put(Buckets.key, b('a'), b('1'));
  be.putAux(Buckets.lease, 'l1', b('x'));
  be.setConsistentIndex(7);
  const view = await be.openReadView();
  // staged after it opened: not in the view
  be.put(Buckets.key, b('b'), b('2'));
  be.put(Buckets.key, b('c'), b('3'));
  be.delete(Buckets.key, b('a'));
  await be.forceCommit();
  assert.deepEqual(entries(view.range(Buckets.key)), [['a', '1']]);
  assert.deepEqual(entries(view.range(Buckets.lease)), [['l1', 'x']]);
  assert.ok(view.bucketNames().includes(Buckets.meta));
  assert.equal(view.range(Buckets.meta).find(([k]) => k.toString() === 'consistent_index')?.[1].readBigUInt64BE(0), 7n);
  assert.deepEqual(entries(be.range(Buckets.key)), [['b', '2'], ['c', '3']]);

  let defragged = false;
  const defrag = be.defragment().then(() => (defragged = true));
  // the compacted copy is in place: without waiting for the view, the old file would be closed now
  await waitFor('the defrag temp file', () => existsSync(join(path, 'defrag.mdb.tmp')), 10_000);
  assert.deepEqual(entries(view.range(Buckets.key, b('a'), undefined, 1)), [['a', '1']]);
  assert.equal(defragged, false);
  view.close();
  await defrag;
  assert.deepEqual(entries(be.range(Buckets.key)), [['b', '2'], ['c', '3']]);
  const after = await be.openReadView();
  assert.deepEqual(entries(after.range(Buckets.key)), [['b', '2'], ['c', '3']]);
  after.close();
});
