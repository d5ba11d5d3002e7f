// Model-based test: seeded random histories of write txns (puts, deletes, reads inside the txn),
// ranges with random options at random revisions, compactions, hashes, watch history and
// restarts, run against MvccStore and a plain in-memory model of etcd's semantics; every result
// and error is compared. Two stores (different batch/compaction settings) get the same history
// and must agree on hashKV.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore } from '../src/mvcc/store.js';
import { ErrCompacted, ErrFutureRev } from '../src/mvcc/errors.js';
import { EventType, SortOrder, SortTarget, type KeyValue, type RangeOptions, type RangeResult, type ReadView } from '../src/mvcc/types.js';
import { mulberry32 } from '@tsetcd/common';

// fsync-heavy paths are not under test here: use tmpfs when there is one
const scratchBase = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

// ---- the model ----
interface MKv {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  lease: number;
}
interface MEvent {
  type: EventType;
  key: string;
  mod: number;
  value: string;
}
interface MRange {
  kvs: MKv[];
  count: number;
  more: boolean;
  revision: number;
}
type Outcome<T> = { ok: T } | { err: string };

const L = (s: string): Buffer => Buffer.from(s, 'latin1');
const S = (b: Buffer): string => b.toString('latin1');

/** [start, end) membership as etcd: end undefined = single key, "\0" = no upper bound */
function inRange(k: string, key: string, end: string | undefined): boolean {
  if (end === undefined || end === '') return k === key;
  if (end === '\0') return k >= key;
  return k >= key && k < end;
}

class Model {
  // a fresh etcd store is at revision 1 (nothing was ever written at revision 0 or 1)
  rev = 1;
  compactRev = -1;
  states: Array<Map<string, MKv>> = [new Map(), new Map()];
  events: Array<MEvent & { sub: number }> = [];

  range(state: Map<string, MKv>, key: string, o: ROpts, readRev: number): Outcome<MRange> {
    let rev = o.revision ?? 0;
    if (rev > readRev) return { err: 'future' };
    if (rev <= 0) rev = readRev;
    if (rev < this.compactRev) return { err: 'compacted' };
    const st = rev === readRev ? state : this.states[rev];
    let kvs = [...st.values()].filter((kv) => inRange(kv.key, key, o.rangeEnd)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const count = kvs.length;
    if (o.countOnly) return { ok: { kvs: [], count, more: false, revision: readRev } };
    // etcd fetches only limit+1 keys (in key order) unless it sorts or filters
    const sortsOrFilters = o.sortOrder !== SortOrder.NONE || !!o.minMod || !!o.maxMod || !!o.minCreate || !!o.maxCreate;
    if (!sortsOrFilters && o.limit > 0) kvs = kvs.slice(0, o.limit + 1);
    if (o.maxMod) kvs = kvs.filter((kv) => kv.mod <= o.maxMod!);
    if (o.minMod) kvs = kvs.filter((kv) => kv.mod >= o.minMod!);
    if (o.maxCreate) kvs = kvs.filter((kv) => kv.create <= o.maxCreate!);
    if (o.minCreate) kvs = kvs.filter((kv) => kv.create >= o.minCreate!);
    let order = o.sortOrder;
    if (o.sortTarget !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
    const field = (kv: MKv): number | string =>
      o.sortTarget === SortTarget.VERSION ? kv.version : o.sortTarget === SortTarget.CREATE ? kv.create : o.sortTarget === SortTarget.MOD ? kv.mod : o.sortTarget === SortTarget.VALUE ? kv.value : kv.key;
    const cmp = (a: MKv, b: MKv): number => (field(a) < field(b) ? -1 : field(a) > field(b) ? 1 : 0);
    if (order === SortOrder.ASCEND) kvs.sort(cmp);
    if (order === SortOrder.DESCEND) kvs.sort((a, b) => cmp(b, a));
    let more = false;
    if (o.limit > 0 && kvs.length > o.limit) {
      kvs = kvs.slice(0, o.limit);
      more = true;
    }
    if (o.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
    return { ok: { kvs, count, more, revision: readRev } };
  }
}

interface ROpts {
  rangeEnd?: string;
  revision?: number;
  limit: number;
  keysOnly: boolean;
  countOnly: boolean;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  minMod?: number;
  maxMod?: number;
  minCreate?: number;
  maxCreate?: number;
}

function toStoreOpts(o: ROpts): RangeOptions {
  const r: RangeOptions = { limit: o.limit, keysOnly: o.keysOnly, countOnly: o.countOnly, sortOrder: o.sortOrder, sortTarget: o.sortTarget };
  if (o.rangeEnd !== undefined) r.rangeEnd = L(o.rangeEnd);
  if (o.revision !== undefined) r.revision = BigInt(o.revision);
  if (o.minMod !== undefined) r.minModRevision = BigInt(o.minMod);
  if (o.maxMod !== undefined) r.maxModRevision = BigInt(o.maxMod);
  if (o.minCreate !== undefined) r.minCreateRevision = BigInt(o.minCreate);
  if (o.maxCreate !== undefined) r.maxCreateRevision = BigInt(o.maxCreate);
  return r;
}

const fromKv = (kv: KeyValue): MKv => ({
  key: S(kv.key),
  value: S(kv.value),
  create: Number(kv.createRevision),
  mod: Number(kv.modRevision),
  version: Number(kv.version),
  lease: Number(kv.lease),
});

function run<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof ErrCompacted) return { err: 'compacted' };
    if (e instanceof ErrFutureRev) return { err: 'future' };
    throw e;
  }
}

async function runAsync<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await fn() };
  } catch (e) {
    return run(() => {
      throw e;
    });
  }
}

function storeRange(v: ReadView, key: string, o: ROpts): Outcome<MRange> {
  return run(() => {
    const r: RangeResult = v.range(L(key), toStoreOpts(o));
    return { kvs: r.kvs.map(fromKv), count: r.count, more: r.more, revision: Number(r.revision) };
  });
}

const keySpace = ['a', 'a\x00', 'ab', 'abc', 'b', 'b\xff', 'ba', 'c', 'cc', 'd', '\xff', 'e'];

async function runHistory(seed: number, steps: number): Promise<{ checks: number }> {
  const rand = mulberry32(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: T[]): T => xs[int(xs.length)];
  const dirs = [mkdtempSync(join(scratchBase, 'mvcc-model-')), mkdtempSync(join(scratchBase, 'mvcc-model-'))];
  const settings = [
    { compactionBatchKeys: 1000 },
    { compactionBatchKeys: 2, batchLimitOps: 40, batchIntervalMs: 20 },
  ];
  let stores = dirs.map((d, i) => MvccStore.openDir(d, settings[i]));
  const m = new Model();
  let checks = 0;
  const pending: Promise<void>[] = [];

  const randomEnd = (key: string): string | undefined => {
    const c = int(4);
    if (c === 0) return undefined;
    if (c === 1) return '\0';
    return pick(keySpace.filter((k) => k >= key).concat([pick(keySpace)]));
  };
  const randomRev = (readRev: number): number | undefined => {
    if (rand() < 0.4) return undefined;
    return Math.max(0, m.compactRev - 1) + int(readRev - Math.max(0, m.compactRev - 1) + 3);
  };
  const randomOpts = (key: string, readRev: number): ROpts => {
    const o: ROpts = {
      limit: rand() < 0.5 ? 0 : int(5),
      keysOnly: rand() < 0.15,
      countOnly: rand() < 0.1,
      sortOrder: rand() < 0.5 ? SortOrder.NONE : pick([SortOrder.ASCEND, SortOrder.DESCEND]),
      sortTarget: rand() < 0.5 ? SortTarget.KEY : pick([SortTarget.VERSION, SortTarget.CREATE, SortTarget.MOD, SortTarget.VALUE]),
    };
    const end = randomEnd(key);
    if (end !== undefined) o.rangeEnd = end;
    const rev = randomRev(readRev);
    if (rev !== undefined) o.revision = rev;
    if (rand() < 0.15) o.minMod = 1 + int(readRev + 1);
    if (rand() < 0.15) o.maxMod = 1 + int(readRev + 1);
    if (rand() < 0.15) o.minCreate = 1 + int(readRev + 1);
    if (rand() < 0.15) o.maxCreate = 1 + int(readRev + 1);
    return o;
  };
  // sort ties: the model and the store both keep key order for equal sort fields
  const checkRange = (got: Outcome<MRange>, want: Outcome<MRange>, what: string): void => {
    assert.deepEqual(got, want, `seed ${seed}: ${what}`);
    checks++;
  };

  try {
    for (let step = 0; step < steps; step++) {
      const c = rand();
      if (c < 0.45) {
        // a write txn of 1..4 ops (puts, deletes, reads)
        const txs = stores.map((s) => s.write());
        const draft = new Map(m.states[m.rev]);
        const newRev = m.rev + 1;
        let changes = 0;
        const nOps = 1 + int(4);
        for (let i = 0; i < nOps; i++) {
          const key = pick(keySpace);
          const op = rand();
          if (op < 0.55) {
            const value = `v${int(6)}`;
            const lease = rand() < 0.2 ? 1 + int(3) : 0;
            const prevM = draft.get(key);
            const kv: MKv = { key, value, create: prevM ? prevM.create : newRev, mod: newRev, version: prevM ? prevM.version + 1 : 1, lease };
            draft.set(key, kv);
            m.events.push({ type: EventType.PUT, key, mod: newRev, value, sub: changes });
            changes++;
            for (const tx of txs) {
              const { prev } = tx.put(L(key), L(value), BigInt(lease));
              assert.deepEqual(prev === undefined ? undefined : fromKv(prev), prevM, `seed ${seed}: prev of put`);
            }
          } else if (op < 0.8) {
            const end = randomEnd(key);
            const gone = [...draft.values()].filter((kv) => inRange(kv.key, key, end)).sort((a, b) => (a.key < b.key ? -1 : 1));
            for (const kv of gone) {
              draft.delete(kv.key);
              m.events.push({ type: EventType.DELETE, key: kv.key, mod: newRev, value: '', sub: changes });
              changes++;
            }
            for (const tx of txs) {
              const deleted = tx.deleteRange(L(key), end === undefined ? undefined : L(end));
              assert.deepEqual(deleted.map(fromKv), gone, `seed ${seed}: deleteRange`);
            }
          } else {
            const readRev = changes > 0 ? newRev : m.rev;
            const o = randomOpts(key, readRev);
            const want = m.range(draft, key, o, readRev);
            for (const tx of txs) checkRange(storeRange(tx, key, o), want, `range in txn ${JSON.stringify(o)}`);
          }
        }
        if (changes > 0) {
          m.rev = newRev;
          m.states.push(draft);
        }
        for (const tx of txs) assert.equal(tx.end().revision, BigInt(m.rev));
      } else if (c < 0.8) {
        const key = pick(keySpace);
        const o = randomOpts(key, m.rev);
        const want = m.range(m.states[m.rev], key, o, m.rev);
        for (const s of stores) checkRange(storeRange(s.read(), key, o), want, `range ${JSON.stringify({ key, ...o })}`);
      } else if (c < 0.86) {
        const r = Math.max(0, m.compactRev - 1) + int(m.rev - Math.max(0, m.compactRev - 1) + 2);
        const want = r <= m.compactRev ? 'compacted' : r > m.rev ? 'future' : 'ok';
        if (want === 'ok') m.compactRev = r;
        for (const s of stores) {
          const got = run(() => s.compact(BigInt(r)));
          if ('ok' in got) {
            pending.push(got.ok.done);
            if (rand() < 0.5) await got.ok.done;
          }
          assert.equal('ok' in got ? 'ok' : got.err, want, `seed ${seed}: compact(${r})`);
        }
      } else if (c < 0.91) {
        const r = int(m.rev + 2);
        const got = await Promise.all(stores.map((s) => runAsync(() => s.hashKV(BigInt(r)))));
        assert.deepEqual(got[0], got[1], `seed ${seed}: hashKV(${r})`);
        const want = r > 0 && r <= m.compactRev ? 'compacted' : r > m.rev ? 'future' : 'ok';
        assert.equal('ok' in got[0] ? 'ok' : got[0].err, want);
        checks++;
      } else if (c < 0.96) {
        const key = pick(keySpace);
        const end = randomEnd(key);
        const from = m.compactRev + 1 + int(Math.max(1, m.rev - m.compactRev));
        const to = from + int(m.rev - from + 3);
        const limit = int(4);
        for (const s of stores) {
          const got = s.eventsBetween(L(key), end === undefined ? undefined : L(end), BigInt(from), BigInt(to), limit);
          const all = m.events.filter((e) => e.mod >= Math.max(1, from) && e.mod <= Math.min(to, m.rev) && inRange(e.key, key, end));
          let want = all;
          let next = Math.min(to, m.rev) + 1;
          if (limit > 0 && all.length > limit) {
            const cut = all.findIndex((e, i) => i >= limit && e.mod !== all[i - 1].mod);
            if (cut >= 0) {
              want = all.slice(0, cut);
              next = all[cut].mod;
            }
          }
          if (from > Math.min(to, m.rev)) next = Math.max(1, from);
          assert.deepEqual(
            { events: got.events.map((e) => ({ type: e.type, key: S(e.kv.key), mod: Number(e.kv.modRevision), value: S(e.kv.value) })), next: Number(got.nextRev) },
            { events: want.map(({ type, key: k, mod, value }) => ({ type, key: k, mod, value })), next },
            `seed ${seed}: eventsBetween(${JSON.stringify([key, end, from, to, limit])})`,
          );
          checks++;
        }
      } else {
        // restart both stores (an unfinished compaction resumes on open)
        await Promise.all(stores.map((s) => s.close()));
        await Promise.allSettled(pending.splice(0));
        stores = dirs.map((d, i) => MvccStore.openDir(d, settings[i]));
        await Promise.all(stores.map((s) => s.restored));
        for (const s of stores) {
          assert.equal(s.currentRevision(), BigInt(m.rev), `seed ${seed}: revision after restart`);
          assert.equal(s.compactRevision(), BigInt(Math.max(0, m.compactRev)), `seed ${seed}: compact rev after restart`);
        }
      }
    }
    await Promise.all(pending);
    // the whole key space at every readable revision
    for (let r = Math.max(1, m.compactRev); r <= m.rev; r++) {
      const o: ROpts = { rangeEnd: '\0', revision: r, limit: 0, keysOnly: false, countOnly: false, sortOrder: SortOrder.NONE, sortTarget: SortTarget.KEY };
      const want = m.range(m.states[m.rev], '\0', o, m.rev);
      for (const s of stores) checkRange(storeRange(s.read(), '\0', o), want, `full range at ${r}`);
    }
    assert.deepEqual(await stores[0].hashKV(0n), await stores[1].hashKV(0n));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return { checks };
}

// MVCC_MODEL_SEEDS=100 runs a longer soak (seeds 1..100).
const seedCount = Number(process.env.MVCC_MODEL_SEEDS ?? 4);
for (let seed = 1; seed <= seedCount; seed++) {
  test(`random histories match the model (seed ${seed})`, async () => {
    const { checks } = await runHistory(seed, 600);
    assert.ok(checks > 300, `only ${checks} checks ran`);
  });
}
