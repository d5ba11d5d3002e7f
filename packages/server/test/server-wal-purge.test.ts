// --max-wals: WAL segments made obsolete by a snapshot are purged by the periodic job, keeping
// at most that many files (etcd's purgeFile); 0 keeps every file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, connect, call, b } from './server-helpers.js';
import { waitFor } from '../../../test/kit/wait.js';

const walFiles = async (dataDir: string) => (await readdir(join(dataDir, 'member', 'wal'))).filter((f) => f.endsWith('.wal'));

async function writeSegments(t: import('node:test').TestContext, maxWals: number): Promise<{ dataDir: string; purged: string[]; purge: () => Promise<void>; close: () => Promise<void> }> {
  const purged: string[] = [];
  const logger = { debug() {}, warn() {}, error() {}, info(msg: string, f?: Record<string, unknown>) { if (msg === 'purged') purged.push(String(f?.path)); } };
  // small segments and snapshots so that a few hundred puts span many files; the purge job
  // runs every 50 ms (etcd: 30 s)
  const m = await startMember(t, { walSegmentBytes: 4096, snapshotCount: 20, snapshotCatchUpEntries: 5, maxWals, purgeIntervalMs: 50, logger });
  const c = connect(t, m.clientUrls[0]);
  for (let i = 0; i < 300; i++) await call(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b(`k${i % 7}`), value: Buffer.alloc(100, i) }));
  return { dataDir: m.dataDir, purged, purge: () => m.server.purgeNow(), close: () => m.close() };
}

test('--max-wals 3: released segments are purged down to 3 files', async (t) => {
  const w = await writeSegments(t, 3);
  await waitFor('the WAL purged down to 3 files', async () => {
    if ((await walFiles(w.dataDir)).length <= 3) return true;
    await w.purge();
    return false;
  }, 10_000);
  assert.ok(w.purged.length >= 5, `purged ${w.purged.length} files`);
  assert.ok(w.purged.every((p) => p.endsWith('.wal') || p.endsWith('.snap')));
});

test('--max-wals 0: no WAL file is purged', async (t) => {
  const w = await writeSegments(t, 0);
  await w.purge();
  const files = await walFiles(w.dataDir);
  assert.ok(files.length >= 8, `${files.length} WAL files kept`);
  assert.ok(!w.purged.some((p) => p.endsWith('.wal')));
  // the first segment is still there
  assert.ok(files.includes('0000000000000000-0000000000000000.wal'), files.join(','));
});

test('--max-wals after a restart: segments before the loaded snapshot are purged', async (t) => {
  const { startServer } = await import('../src/embed/index.js');
  const w = await writeSegments(t, 0);
  const before = (await walFiles(w.dataDir)).length;
  assert.ok(before >= 8, `${before} WAL files`);
  await w.close(); // (closing twice is harmless: its t.after closes it again)
  const m = await startServer({ dataDir: w.dataDir, listenClientUrls: ['http://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200, walSegmentBytes: 4096, maxWals: 3, purgeIntervalMs: 60_000 });
  t.after(() => m.close());
  await m.ready;
  await m.server.purgeNow();
  const after = await walFiles(w.dataDir);
  assert.ok(after.length <= 3, `${after.length} WAL files after the restart`);
});
