// SnapshotInstaller: received snapshot databases staged by raft index, installed when raft hands
// the snapshot out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { Backend, Buckets } from '../src/backend/backend.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotInstaller, type SnapshotTargets } from '../src/etcdserver/snapshot-install.js';
import type { Message } from '@tsetcd/raft';

const quietLog = { info() {}, warn() {}, error() {}, debug() {} };
/** A (tiny) database file as a leader sends it. */
async function writeDatabase(file: string, mark: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snap-install-db-'));
  const b = Backend.open({ path: dir });
  b.putAux(Buckets.meta, 'mark', Buffer.from(mark));
  await b.close();
  await copyFile(join(dir, 'data.mdb'), file);
  await rm(dir, { recursive: true, force: true });
}

const msgSnap = (index: number) => ({ from: 1n, snapshot: { metadata: { index } } }) as unknown as Message;

test('a second send of a staged snapshot keeps the first database: the index is never left without one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snap-install-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // install() reaches the store only once it has found the staged database: a store that throws
  // tells the two apart
  const store = { reloadFrom(): never { throw new Error('reached the store') } };
  const installer = new SnapshotInstaller({ store, log: quietLog, cluster: { localId: 2n } } as unknown as SnapshotTargets);
  await writeDatabase(join(dir, 'first.snap.db'), 'first');
  await installer.stage(msgSnap(100), join(dir, 'first.snap.db'), 0);
  await writeDatabase(join(dir, 'second.snap.db'), 'second');
  const again = installer.stage(msgSnap(100), join(dir, 'second.snap.db'), 0); // the leader's retry, still arriving
  await assert.rejects(installer.install(100, 0), /reached the store/);
  await again;
  // the retry's file was not taken (the transport removes its own temporary)
  assert.ok((await readdir(dir)).includes('second.snap.db'));
});

test('a snapshot raft hands out without a staged database is a fatal error naming its index', async () => {
  const installer = new SnapshotInstaller({ log: quietLog } as unknown as SnapshotTargets);
  await assert.rejects(installer.install(7, 0), /raft snapshot at index 7 arrived without its database/);
});
