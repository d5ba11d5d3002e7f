// The raft log kept in memory is bounded as in etcd: every --snapshot-count applied entries a
// snapshot is taken and the in-memory log is compacted down to a catch-up tail of
// snapshotCatchUpEntries entries behind it (etcd's triggerSnapshot, "compacted Raft logs").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, connect, call, b } from './server-helpers.js';

test('every --snapshot-count entries the in-memory raft log is compacted to the catch-up tail', async (t) => {
  const snapshots: number[] = [];
  const compactions: number[] = [];
  const logger = {
    debug() {},
    warn() {},
    error() {},
    info(msg: string, f?: Record<string, unknown>) {
      if (msg === 'saved snapshot') snapshots.push(Number(f?.['snapshot-index']));
      if (msg === 'compacted Raft logs') compactions.push(Number(f?.['compact-index']));
    },
  };
  const snapshotCount = 20;
  const catchUp = 5;
  const m = await startMember(t, { snapshotCount, snapshotCatchUpEntries: catchUp, logger });
  const c = connect(t, m.clientUrls[0]);
  const puts = 200;
  for (let i = 0; i < puts; i++) await call(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b(`k${i}`), value: Buffer.alloc(100, i) }));

  // a snapshot at least every snapshotCount + 1 applied entries (one past the count triggers it)
  assert.ok(snapshots.length >= Math.floor(puts / (snapshotCount + 1)) - 1, `${snapshots.length} snapshots in ${puts} puts`);
  // ... and not sooner (one Ready's batch of applied entries may carry it a few past)
  for (let i = 1; i < snapshots.length; i++) {
    const gap = snapshots[i] - snapshots[i - 1];
    assert.ok(gap > snapshotCount && gap <= snapshotCount + 8, `snapshots ${snapshots[i - 1]} -> ${snapshots[i]}`);
  }
  // each followed by a compaction to the catch-up tail behind it
  assert.deepEqual(compactions, snapshots.filter((s) => s - catchUp > 1).map((s) => s - catchUp));
});
