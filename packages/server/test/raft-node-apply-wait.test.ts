// What an apply waits for in the raft node's pipeline: the WAL save that carried its entries, not
// a later commit-only hard state (written without fsync, and under load queued behind the next
// batch's fdatasync). A commit-only save held open must not hold the apply back; a held save of
// the entries themselves must.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage, type Entry, type HardState } from '@tsetcd/raft';
import { Wal } from '../src/wal/index.js';
import { Snapshotter } from '../src/snap/snapshotter.js';
import { RaftNode } from '../src/etcdserver/raft-node.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A latch: a promise and the function that resolves it. */
function latch(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/**
 * One member alone (voter 1, from a snapshot at index 1) whose WAL saves can be held: `hold`
 * decides per save whether its promise waits for the returned latch after the real save.
 */
async function member(t: import('node:test').TestContext, hold: (hs: HardState | undefined, ents: readonly Entry[], sync: boolean) => boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'raft-node-apply-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const wal = await Wal.create(join(dir, 'wal'), Buffer.alloc(16));
  await wal.saveSnapshotMarker({ index: 1, term: 1 });
  const gate = latch();
  const held: Array<{ hs: HardState | undefined; ents: number; sync: boolean }> = [];
  let heldSeen: (() => void) | undefined;
  const heldWal = new Proxy(wal, {
    get(target, key) {
      if (key === 'save') {
        return (hs: HardState | undefined, ents: readonly Entry[], sync: boolean) => {
          const saved = target.save(hs, ents, sync);
          if (!hold(hs, ents, sync)) return saved;
          held.push({ hs, ents: ents.length, sync });
          heldSeen?.();
          return saved.then(() => gate.promise);
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const storage = new MemoryStorage();
  storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters: [1n], learners: [] } } });
  const applied: Entry[] = [];
  let onApply: (() => void) | undefined;
  let appliedIndex = 1;
  const fatal: unknown[] = [];
  const node = new RaftNode(
    { wal: heldWal, snapshotter: new Snapshotter(join(dir, 'snap')), storage, snapshotIndex: 1, snapshotData: new Uint8Array(0), commit: 1, term: 1 },
    1,
    { memberId: 1n, electionTicks: 10, heartbeatIntervalMs: 100, preVote: false, snapshotCount: 100_000, snapshotCatchUpEntries: 5000, maxWals: 5, purgeIntervalMs: 60_000, log: quiet },
    {
      onSoftState() {},
      onReadState() {},
      async apply(_snap, entries) {
        for (const e of entries) {
          applied.push(e);
          appliedIndex = e.index;
        }
        onApply?.();
      },
      appliedIndex: () => appliedIndex,
      snapshotData: () => new Uint8Array(0),
      proposalsDropped: (batch) => batch,
      async commitBackend() {},
      onFatal: (e) => {
        fatal.push(e);
        onApply?.();
      },
    },
  );
  t.after(async () => {
    gate.open();
    await node.stop();
    await node.closeWal();
  });
  node.start();
  node.campaign();
  /** resolves once an applied entry carries `data` */
  const appliedData = (data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (fatal.length > 0) reject(fatal[0] as Error);
        else if (applied.some((e) => Buffer.from(e.data).equals(data))) resolve();
      };
      onApply = check;
      check();
    });
  /** resolves once a held save was made */
  const saveHeld = (): Promise<void> => new Promise((resolve) => (held.length > 0 ? resolve() : (heldSeen = resolve)));
  return { node, gate, held, applied, appliedData, saveHeld, fatal };
}

test('an apply does not wait for a commit-only hard state save', { timeout: 20_000 }, async (t) => {
  // hold every save that carries no entries: the commit index's own record
  const m = await member(t, (hs, ents) => hs !== undefined && ents.length === 0);
  const data = Buffer.from('put k v');
  m.node.propose(data);
  await m.appliedData(data);
  assert.ok(m.held.length > 0, 'a commit-only hard state save was held while the entry applied');
  assert.ok(m.held.every((h) => h.ents === 0 && !h.sync));
  assert.deepEqual(m.fatal, []);
});

test('an apply waits for the save that carried its entries', { timeout: 20_000 }, async (t) => {
  const data = Buffer.from('put k2 v2');
  // hold the save that carries the proposed entry
  const m = await member(t, (_hs, ents) => ents.some((e) => Buffer.from(e.data).equals(data)));
  m.node.propose(data);
  await m.saveHeld();
  // let every pending turn run: nothing commits or applies on a save that is not durable yet
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.ok(!m.applied.some((e) => Buffer.from(e.data).equals(data)), 'applied before its entry was durable');
  m.gate.open();
  await m.appliedData(data);
  assert.deepEqual(m.fatal, []);
});
