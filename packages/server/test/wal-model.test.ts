// Property test: any sequence of saves (appends, tail rewrites by a new term, hard states,
// snapshot markers) across segment cuts and reopens replays to the same log as a plain model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { EntryType, type Entry, type HardState } from '@tsetcd/raft';
import { Wal } from '../src/wal/index.js';

const segmentBytes = 4096; // the minimum: cuts every few saves

type Op =
  | { kind: 'append'; count: number; size: number }
  | { kind: 'rewrite'; back: number; count: number }
  | { kind: 'marker' }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 8 }), size: fc.integer({ min: 0, max: 900 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rewrite' as const), back: fc.integer({ min: 0, max: 6 }), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'marker' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

function data(index: number, term: number, size: number): Buffer {
  return Buffer.alloc(size, `${index}/${term}|`);
}

test('replay equals a model of the log for random save sequences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const dir = await mkdtemp(join(tmpdir(), 'tsetcd-walmodel-'));
      let wal = await Wal.create(dir, Buffer.from('model'), { segmentBytes });
      try {
        let model: Entry[] = [];
        let term = 1;
        let hs: HardState = { term: 0, vote: 0n, commit: 0 };
        const pending: Promise<void>[] = [];
        for (const op of ops) {
          if (op.kind === 'reopen') {
            await Promise.all(pending.splice(0));
            await wal.close();
            const r = await Wal.open(dir, { segmentBytes });
            wal = r.wal;
            assert.deepEqual(r.entries.map((e) => [e.index, e.term]), model.map((e) => [e.index, e.term]));
            assert.deepEqual(r.hardState, hs);
            continue;
          }
          if (op.kind === 'marker') {
            if (model.length > 0) pending.push(wal.saveSnapshotMarker({ index: model.length, term: model[model.length - 1].term }));
            continue;
          }
          let first = model.length + 1;
          let count = op.count;
          let size = 0;
          if (op.kind === 'rewrite') {
            term++;
            first = Math.max(1, model.length - op.back);
          } else {
            size = op.size;
          }
          const batch: Entry[] = [];
          for (let i = first; i < first + count; i++) batch.push({ index: i, term, type: EntryType.Normal, data: data(i, term, size) });
          model = [...model.slice(0, first - 1), ...batch];
          hs = { term, vote: BigInt(term), commit: Math.max(0, model.length - 1) };
          // saves are issued without waiting, like overlapping raft Readies
          pending.push(wal.save(hs, batch, pending.length % 3 === 0));
        }
        await Promise.all(pending.splice(0));
        await wal.close();
        const r = await Wal.open(dir, { segmentBytes });
        wal = r.wal;
        assert.deepEqual(r.entries.map((e) => [e.index, e.term]), model.map((e) => [e.index, e.term]));
        r.entries.forEach((e, i) => assert.ok(Buffer.from(e.data).equals(Buffer.from(model[i].data))));
        assert.deepEqual(r.hardState, hs);
      } finally {
        await wal.close();
        await rm(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 25, seed: 20261125 },
  );
});

test('a WAL directory apart from the data dir is created with its parents', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'tsetcd-waldir-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const walDir = join(base, 'separate', 'disk', 'member', 'wal');
  const wal = await Wal.create(walDir, Buffer.from('m'));
  await wal.save({ term: 1, vote: 0n, commit: 1 }, [{ index: 1, term: 1, type: EntryType.Normal, data: Buffer.from('x') }], true);
  await wal.close();
  const r = await Wal.open(walDir);
  t.after(() => r.wal.close());
  assert.equal(r.entries.length, 1);
});
