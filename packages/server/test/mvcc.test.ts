import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore } from '../src/mvcc/store.js';
import { ErrCompacted, ErrFutureRev, ErrTxnInProgress } from '../src/mvcc/errors.js';
import { EventType, SortOrder, SortTarget } from '../src/mvcc/types.js';
import { Buckets } from '../src/backend/backend.js';

// fsync-heavy paths are not under test here: use tmpfs when there is one
const scratchBase = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

const b = (s: string): Buffer => Buffer.from(s);
const all = Buffer.of(0);

function tmpDir(t: { after: (fn: () => void | Promise<void>) => void }): string {
  const dir = mkdtempSync(join(scratchBase, 'mvcc-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openStore(t: { after: (fn: () => void | Promise<void>) => void }, dir = tmpDir(t)): MvccStore {
  const s = MvccStore.openDir(dir);
  t.after(() => s.close());
  return s;
}

function put(s: MvccStore, k: string, v: string, lease = 0n): bigint {
  const tx = s.write();
  tx.put(b(k), b(v), lease);
  return tx.end().revision;
}

function del(s: MvccStore, k: string, end?: string): bigint {
  const tx = s.write();
  tx.deleteRange(b(k), end === undefined ? undefined : b(end));
  return tx.end().revision;
}

/** The same history for the in-process store and the crash child below. */
function crashHistory(s: MvccStore): void {
  for (let i = 0; i < 30; i++) put(s, `k${i % 10}`, `v${i}`);
  del(s, 'k3', 'k6');
  put(s, 'k4', 'again');
}

// Child mode: run crashHistory, start a compaction and die at its second step
// (TSETCD_FAILPOINTS=compactDuring=2*exit is set by the parent).
if (process.env.MVCC_CRASH_CHILD !== undefined) {
  const s = MvccStore.openDir(process.env.MVCC_CRASH_CHILD, { compactionBatchKeys: 2 });
  crashHistory(s);
  await s.backend.forceCommit();
  await s.compact(28n).done;
  process.exit(3); // not reached: the failpoint kills the process first
}

const keysOf = (kvs: { key: Buffer }[]): string[] => kvs.map((kv) => kv.key.toString());

test('puts, versions, create/mod revisions and prev values', (t) => {
  const s = openStore(t);
  // a fresh store is at revision 1 (as etcd's); the first write is revision 2
  assert.equal(s.currentRevision(), 1n);
  const tx = s.write();
  assert.deepEqual(tx.put(b('a'), b('1'), 0n), { prev: undefined, prevLease: 0n });
  tx.put(b('b'), b('2'), 7n);
  const r = tx.end();
  assert.equal(r.revision, 2n);
  assert.deepEqual(r.events.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision]), [
    [EventType.PUT, 'a', 2n],
    [EventType.PUT, 'b', 2n],
  ]);
  const tx2 = s.write();
  const { prev } = tx2.put(b('a'), b('3'), 0n);
  assert.equal(prev?.value.toString(), '1');
  assert.equal(tx2.end().revision, 3n);
  const got = s.range(b('a')).kvs[0];
  assert.deepEqual(
    [got.createRevision, got.modRevision, got.version, got.value.toString(), got.lease],
    [2n, 3n, 2n, '3', 0n],
  );
  assert.equal(s.range(b('b')).kvs[0].lease, 7n);
  // old revision still readable
  assert.equal(s.range(b('a'), { revision: 2n }).kvs[0].value.toString(), '1');
});

test('a put takes version, create revision and lease from the index, not from the stored value', async (t) => {
  const dir = tmpDir(t);
  const s = MvccStore.openDir(dir);
  put(s, 'k', 'v1', 7n); // 2
  put(s, 'k', 'v2', 7n); // 3
  // count the backend reads of the puts below
  let reads = 0;
  const get = s.backend.get.bind(s.backend);
  s.backend.get = (...a: Parameters<typeof get>) => (reads++, get(...a));
  const tx = s.write();
  assert.deepEqual(tx.put(b('k'), b('v3'), 9n, false), { prev: undefined, prevLease: 7n });
  tx.end();
  assert.equal(reads, 0, 'a put without prev_kv reads nothing from the backend');
  const kv = s.range(b('k')).kvs[0];
  assert.deepEqual([kv.createRevision, kv.modRevision, kv.version, kv.lease], [2n, 4n, 3n, 9n]);
  // a compaction drops the generation's first revision; the figures stay
  await s.compact(4n).done;
  put(s, 'k', 'v4', 5n); // 5
  const kv2 = s.range(b('k')).kvs[0];
  assert.deepEqual([kv2.createRevision, kv2.version, kv2.lease], [2n, 4n, 5n]);
  await s.close();
  // reopened: the index is rebuilt from the backend without the figures; the first put reads
  // the stored value once, later puts do not
  const s2 = MvccStore.openDir(dir);
  t.after(() => s2.close());
  await s2.restored;
  let reads2 = 0;
  const get2 = s2.backend.get.bind(s2.backend);
  s2.backend.get = (...a: Parameters<typeof get2>) => (reads2++, get2(...a));
  const tx2 = s2.write();
  assert.deepEqual(tx2.put(b('k'), b('v5'), 0n, false).prevLease, 5n);
  tx2.end();
  assert.equal(reads2, 1);
  const tx3 = s2.write();
  tx3.put(b('k'), b('v6'), 0n, false);
  tx3.end();
  assert.equal(reads2, 1);
  const kv3 = s2.range(b('k')).kvs[0];
  assert.deepEqual([kv3.createRevision, kv3.modRevision, kv3.version], [2n, 7n, 6n]);
  // a delete ends the generation: the next put creates the key again
  del(s2, 'k');
  put(s2, 'k', 'again');
  const kv4 = s2.range(b('k')).kvs[0];
  assert.deepEqual([kv4.createRevision, kv4.version], [9n, 1n]);
});

test('a txn without changes keeps the revision; reads inside a txn see its writes', (t) => {
  const s = openStore(t);
  put(s, 'a', '1');
  const tx = s.write();
  assert.deepEqual(tx.deleteRange(b('zzz')), []);
  assert.equal(tx.range(b('a')).revision, 2n);
  assert.deepEqual(tx.end(), { revision: 2n, events: [] });
  assert.equal(s.currentRevision(), 2n);
  const tx2 = s.write();
  assert.throws(() => s.write(), ErrTxnInProgress);
  tx2.put(b('c'), b('x'), 0n);
  const r = tx2.range(b('a'), { rangeEnd: all });
  assert.deepEqual(keysOf(r.kvs), ['a', 'c']);
  assert.equal(r.revision, 3n);
  // a read view opened meanwhile does not see the txn
  assert.deepEqual(keysOf(s.read().range(b('a'), { rangeEnd: all }).kvs), ['a']);
  tx2.end();
});

test('deleteRange returns the deleted kvs, tombstones restart versions', (t) => {
  const s = openStore(t);
  put(s, 'a', '1');
  put(s, 'b', '1');
  put(s, 'c', '1');
  const tx = s.write();
  const deleted = tx.deleteRange(b('a'), b('c'));
  const r = tx.end();
  assert.deepEqual(keysOf(deleted), ['a', 'b']);
  assert.equal(r.revision, 5n);
  assert.deepEqual(r.events.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision, e.kv.version]), [
    [EventType.DELETE, 'a', 5n, 0n],
    [EventType.DELETE, 'b', 5n, 0n],
  ]);
  assert.equal(s.range(b('a')).count, 0);
  put(s, 'a', '2');
  const kv = s.range(b('a')).kvs[0];
  assert.deepEqual([kv.createRevision, kv.version], [6n, 1n]);
});

test('range options: limit/more/count, sort, filters, keys-only, count-only, errors', (t) => {
  const s = openStore(t);
  put(s, 'k1', 'c'); // 2
  put(s, 'k2', 'b'); // 3
  put(s, 'k3', 'a'); // 4
  put(s, 'k1', 'd'); // 5
  put(s, 'x', 'z'); // 6
  const r = s.range(b('k'), { rangeEnd: b('l'), limit: 2 });
  assert.deepEqual([keysOf(r.kvs), r.count, r.more], [['k1', 'k2'], 3, true]);
  const r2 = s.range(b('k'), { rangeEnd: b('l'), limit: 3 });
  assert.deepEqual([r2.count, r2.more], [3, false]);
  const byMod = s.range(b('k'), { rangeEnd: b('l'), sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND });
  assert.deepEqual(keysOf(byMod.kvs), ['k1', 'k3', 'k2']);
  const byVal = s.range(b('k'), { rangeEnd: b('l'), sortTarget: SortTarget.VALUE });
  assert.deepEqual(keysOf(byVal.kvs), ['k3', 'k2', 'k1']);
  const desc = s.range(b('\0'), { rangeEnd: all, sortOrder: SortOrder.DESCEND, limit: 2 });
  assert.deepEqual([keysOf(desc.kvs), desc.count, desc.more], [['x', 'k3'], 4, true]);
  const filtered = s.range(b('k'), { rangeEnd: b('l'), minModRevision: 4n, limit: 1 });
  assert.deepEqual([keysOf(filtered.kvs), filtered.count, filtered.more], [['k1'], 3, true]);
  const created = s.range(b('k'), { rangeEnd: b('l'), maxCreateRevision: 3n });
  assert.deepEqual(keysOf(created.kvs), ['k1', 'k2']);
  const ko = s.range(b('k1'), { keysOnly: true });
  assert.deepEqual([ko.kvs[0].value.length, ko.kvs[0].version], [0, 2n]);
  const co = s.range(b('k'), { rangeEnd: b('l'), countOnly: true, limit: 1 });
  assert.deepEqual([co.kvs.length, co.count, co.more], [0, 3, false]);
  assert.equal(s.range(b('k2'), { rangeEnd: b('k1') }).count, 0);
  assert.throws(() => s.range(b('k1'), { revision: 7n }), ErrFutureRev);
  assert.throws(() => s.range(b('k1'), { revision: 7n }), { message: 'etcdserver: mvcc: required revision is a future revision' });
});

test('compaction keeps the latest version at rev, drops tombstoned keys, errors on old revs', async (t) => {
  const s = openStore(t);
  put(s, 'a', '1'); // 2
  put(s, 'a', '2'); // 3
  put(s, 'b', '1'); // 4
  del(s, 'b'); // 5
  put(s, 'c', '1'); // 6
  del(s, 'c'); // 7
  put(s, 'a', '3'); // 8
  assert.throws(() => s.compact(9n), ErrFutureRev);
  const before = s.range(b('a'), { rangeEnd: all, revision: 6n });
  await s.compact(6n).done;
  assert.equal(s.compactRevision(), 6n);
  assert.throws(() => s.compact(6n), { message: 'etcdserver: mvcc: required revision has been compacted' });
  assert.throws(() => s.range(b('a'), { revision: 5n }), ErrCompacted);
  assert.deepEqual(s.range(b('a'), { rangeEnd: all, revision: 6n }), { ...before, revision: 8n });
  // key bucket: a@3 (latest at 6), c@6, c@7 (tombstone after 6), a@8
  const revs = s.backend.range(Buckets.key).map(([k]) => `${k.readUInt32BE(4)}/${k.length}`);
  assert.deepEqual(revs, ['3/16', '6/16', '7/17', '8/16']);
  await s.compact(7n).done;
  assert.deepEqual(s.backend.range(Buckets.key).map(([k]) => k.readUInt32BE(4)), [3, 8]);
  assert.throws(() => s.eventsBetween(b('a'), all, 6n, 8n), ErrCompacted);
  assert.deepEqual(s.eventsBetween(b('a'), all, 7n, 8n).events.map((e) => e.kv.modRevision), [8n]);
});

test('restart keeps revisions, compact revision, consistent index and aux data', async (t) => {
  const dir = tmpDir(t);
  const s = MvccStore.openDir(dir);
  put(s, 'a', '1');
  put(s, 'b', '2');
  del(s, 'a');
  put(s, 'c', '3');
  s.compact(3n);
  s.setConsistentIndex(42);
  s.backend.putAux(Buckets.lease, b('lease1'), b('ttl'));
  const hash = await s.hashKV(0n);
  assert.equal(s.liveKeys, 2);
  await s.close();
  const s2 = MvccStore.openDir(dir);
  t.after(() => s2.close());
  await s2.restored;
  assert.equal(s2.currentRevision(), 5n);
  assert.equal(s2.compactRevision(), 3n);
  assert.equal(s2.consistentIndex(), 42);
  assert.deepEqual(s2.backend.rangeAux(Buckets.lease).map(([k, v]) => [k.toString(), v.toString()]), [['lease1', 'ttl']]);
  assert.deepEqual(keysOf(s2.range(b('a'), { rangeEnd: all }).kvs), ['b', 'c']);
  assert.deepEqual(await s2.hashKV(0n), hash);
  // etcd_debugging_mvcc_keys_total: the keys that exist, counted again on restart
  assert.equal(s2.liveKeys, 2);
  assert.equal(put(s2, 'd', '4'), 6n);
  assert.equal(s2.liveKeys, 3);
});

test('eventsBetween filters keys and stops at revision boundaries', (t) => {
  const s = openStore(t);
  const tx = s.write();
  tx.put(b('a1'), b('x'), 0n);
  tx.put(b('a2'), b('y'), 0n);
  tx.put(b('b'), b('z'), 0n);
  tx.end(); // 2
  put(s, 'a1', 'w'); // 3
  del(s, 'a2'); // 4
  const r = s.eventsBetween(b('a'), b('b'), 2n, 4n, 1);
  assert.deepEqual(r.events.map((e) => e.kv.key.toString()), ['a1', 'a2']);
  assert.equal(r.nextRev, 3n);
  const r2 = s.eventsBetween(b('a'), b('b'), r.nextRev, 10n, 0);
  assert.deepEqual(r2.events.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision]), [
    [EventType.PUT, 'a1', 3n],
    [EventType.DELETE, 'a2', 4n],
  ]);
  assert.equal(r2.nextRev, 5n);
  assert.deepEqual(s.eventsBetween(b('b'), undefined, 2n, 4n).events.map((e) => e.kv.value.toString()), ['z']);
});

test('hashKV is equal for stores fed the same history, also mid-compaction', async (t) => {
  const s1 = openStore(t);
  const s2 = MvccStore.openDir(tmpDir(t), { compactionBatchKeys: 3 });
  t.after(() => s2.close());
  for (const s of [s1, s2]) {
    for (let i = 0; i < 30; i++) put(s, `k${i % 7}`, `v${i}`);
    del(s, 'k1');
    del(s, 'k2', 'k4');
  }
  assert.deepEqual(await s1.hashKV(0n), await s2.hashKV(0n));
  assert.deepEqual(await s1.hashKV(10n), await s2.hashKV(10n));
  assert.notEqual((await s1.hashKV(10n)).hash, (await s1.hashKV(11n)).hash);
  await s1.compact(20n).done;
  const { done } = s2.compact(20n);
  // s2 compacts in steps of 3 keys: hash while it is in progress
  assert.deepEqual(await s2.hashKV(0n), await s1.hashKV(0n));
  await done;
  assert.deepEqual(await s2.hashKV(0n), await s1.hashKV(0n));
  await assert.rejects(s1.hashKV(20n), ErrCompacted);
  await assert.rejects(s1.hashKV(100n), ErrFutureRev);
});

test('a compaction interrupted by a crash is finished on open', async (t) => {
  const dir = tmpDir(t);
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, MVCC_CRASH_CHILD: dir, TSETCD_FAILPOINTS: 'compactDuring=2*exit' },
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const want = openStore(t);
  crashHistory(want);
  await want.compact(28n).done;
  const s = MvccStore.openDir(dir);
  t.after(() => s.close());
  assert.equal(s.compactRevision(), 28n);
  assert.throws(() => s.range(b('k0'), { revision: 27n }), ErrCompacted);
  await s.restored;
  assert.deepEqual(await s.hashKV(0n), await want.hashKV(0n));
  assert.deepEqual(s.range(b('k'), { rangeEnd: all, revision: 28n }), want.range(b('k'), { rangeEnd: all, revision: 28n }));
  assert.deepEqual(s.backend.range(Buckets.key), want.backend.range(Buckets.key));
  assert.equal(s.currentRevision(), 33n); // 30 puts from revision 2, a delete, a put
});

test('defragment during compaction and writes keeps the store equal to an undisturbed twin', async (t) => {
  const s = openStore(t);
  const twin = openStore(t);
  for (const x of [s, twin]) for (let i = 0; i < 2000; i++) put(x, `k${i % 100}`, `${i}`.repeat(50));
  await s.backend.forceCommit();
  const sizeBefore = s.backend.size();
  const compacted = s.compact(1900n).done;
  const defrag = s.backend.defragment();
  put(s, 'during', '1');
  await Promise.all([compacted, defrag]);
  await s.backend.defragment();
  await twin.compact(1900n).done;
  put(twin, 'during', '1');
  assert.ok(s.backend.size() < sizeBefore, `size ${s.backend.size()} >= ${sizeBefore}`);
  assert.deepEqual(await s.hashKV(0n), await twin.hashKV(0n));
  assert.deepEqual(s.range(b('k'), { rangeEnd: all }), twin.range(b('k'), { rangeEnd: all }));
  assert.equal(s.range(b('during')).kvs[0].modRevision, 2002n);
});

test('aux writes inside a write txn never commit half of it', (t) => {
  const s = MvccStore.openDir(tmpDir(t), { batchLimitOps: 2 });
  t.after(() => s.close());
  const c0 = s.backend.commitCount();
  const tx = s.write();
  tx.put(b('a'), b('1'), 0n);
  tx.put(b('b'), b('2'), 0n);
  s.backend.putAux(Buckets.lease, 'lease-1', b('x'));
  assert.equal(s.backend.commitCount(), c0, 'committed inside the txn');
  tx.end();
  assert.equal(s.backend.commitCount(), c0 + 1);
  assert.equal(s.backend.pendingCount(), 0);
});

test('hashKV equals etcd 3.4 (CRC-32C over revision keys and marshalled KeyValues) for the same history', async (t) => {
  const s = openStore(t);
  // values observed on a real etcd 3.4.23 (`etcdctl endpoint hashkv`) for the same steps
  assert.deepEqual(await s.hashKV(0n), { hash: 1084519789, compactRevision: -1n, revision: 1n });
  put(s, 'foo', 'bar');
  put(s, 'foo', 'baz');
  del(s, 'foo');
  put(s, 'k', 'v');
  assert.equal((await s.hashKV(0n)).hash, 896261032);
  await s.compact(4n).done;
  assert.deepEqual(await s.hashKV(0n), { hash: 931625057, compactRevision: 4n, revision: 5n });
});
