// The MVCC index rebuilt from a backend: on open (with the keys attached to leases gathered in
// the same pass) and from a received snapshot's database (reloadFrom), which builds in slices of
// the event loop while reads keep seeing the store's current content, then swaps both in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore } from '../src/mvcc/store.js';
import { Backend } from '../src/backend/backend.js';

const scratchBase = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const b = (s: string): Buffer => Buffer.from(s);
const all = Buffer.of(0);

function tmpDir(t: { after: (fn: () => void | Promise<void>) => void }): string {
  const dir = mkdtempSync(join(scratchBase, 'mvcc-reload-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function put(s: MvccStore, k: string, v: string, lease = 0n): void {
  const tx = s.write();
  tx.put(b(k), b(v), lease);
  tx.end();
}

function del(s: MvccStore, k: string): void {
  const tx = s.write();
  tx.deleteRange(b(k));
  tx.end();
}

const leasedOf = (s: MvccStore): string[] =>
  s
    .takeRestoredLeasedKeys()
    .map(({ key, lease }) => `${key.toString()}=${lease}`)
    .sort();

test('reopening gathers the live keys attached to a lease from their latest revisions', async (t) => {
  const dir = tmpDir(t);
  const s = MvccStore.openDir(dir);
  put(s, 'kept', '1', 7n);
  put(s, 'moved', '1', 7n);
  put(s, 'moved', '2', 8n); // the latest revision's lease counts
  put(s, 'dropped', '1', 7n);
  put(s, 'dropped', '2'); // put again without a lease
  put(s, 'deleted', '1', 7n);
  del(s, 'deleted');
  put(s, 'reborn', '1', 7n);
  del(s, 'reborn');
  put(s, 'reborn', '2', 9n);
  put(s, 'plain', '1');
  await s.close();
  const s2 = MvccStore.openDir(dir);
  t.after(() => s2.close());
  await s2.restored;
  assert.deepEqual(leasedOf(s2), ['kept=7', 'moved=8', 'reborn=9']);
  // handed out once
  assert.deepEqual(leasedOf(s2), []);
});

test('reloadFrom builds the new index in slices; reads meanwhile see the old content, then the new', async (t) => {
  const keys = 30_000;
  // the database a leader would send: its own keys, one of them leased
  const srcDir = tmpDir(t);
  const leader = MvccStore.openDir(srcDir);
  const batch = 1000;
  for (let i = 0; i < keys; i += batch) {
    const tx = leader.write();
    for (let j = i; j < i + batch; j++) tx.put(b(`new-${String(j).padStart(6, '0')}`), b('v'), j === 5 ? 3n : 0n);
    tx.end();
  }
  leader.setConsistentIndex(1234);
  const leaderRev = leader.currentRevision();
  await leader.close();

  const s = MvccStore.openDir(tmpDir(t));
  t.after(() => s.close());
  put(s, 'old', '1');
  const srcDb = join(srcDir, 'member', 'snap', 'db');
  const src = Backend.open({ path: srcDb });
  let turns = 0;
  const seen: string[][] = [];
  let stop = false;
  const reader = (): void => {
    if (stop) return;
    turns++;
    seen.push(s.range(all, { rangeEnd: all, limit: 2 }).kvs.map((kv) => kv.key.toString()));
    setImmediate(reader);
  };
  setImmediate(reader);
  await s.reloadFrom(src, async () => {
    await src.close();
    await s.backend.replaceWith(join(srcDb, 'data.mdb'));
  });
  stop = true;
  assert.ok(turns > 1, `the rebuild let the event loop run (${turns} turns)`);
  for (const keysSeen of seen) assert.deepEqual(keysSeen, ['old'], 'reads during the rebuild see the old content only');
  assert.equal(s.currentRevision(), leaderRev);
  assert.equal(s.consistentIndex(), 1234);
  assert.equal(s.liveKeys, keys);
  const r = s.range(all, { rangeEnd: all, limit: 2 });
  assert.deepEqual(r.kvs.map((kv) => kv.key.toString()), ['new-000000', 'new-000001']);
  assert.equal(r.count, keys);
  assert.deepEqual(leasedOf(s), ['new-000005=3']);
  // the store goes on writing to the swapped-in database
  put(s, 'after', '1');
  assert.equal(s.range(b('after')).kvs[0].value.toString(), '1');
});
