import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry, type HardState } from '@tsetcd/raft';
import { Wal, WalExistsError, WalInvalidAppendError, WalNotFoundError, WalSnapshotNotFoundError, crc32c } from '../src/wal/index.js';
import { RecordType, decodeEntryBody, frameData, frameHeaderBytes } from '../src/wal/record.js';
import { decodePbFields, EtcdWalRecordType, EtcdWalWriter, etcdWalRecords, pbBytes, pbBytesField, pbUint, pbVarintField } from '@tsetcd/common';

const smallSegmentBytes = 16 * 1024;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-wal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entry(index: number, term: number, text = `v${index}`): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(text) };
}

function range(from: number, to: number, term: number, size = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size > 0 ? `${i}:`.padEnd(size, 'x') : `v${i}`));
  return out;
}

function plain(es: Entry[]): Array<[number, number, number, string]> {
  return es.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString()]);
}

test('crc32c matches the Castagnoli check value and chains', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.from('6789'), crc32c(Buffer.from('12345'))), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('create, save, reopen: round trip of metadata, hard state and entries', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.from('member-meta'));
  const hs: HardState = { term: 3, vote: 0xfedcba9876543210n, commit: 4 };
  const es = [...range(1, 5, 3), { index: 6, term: 3, type: EntryType.ConfChange, data: Buffer.from([0, 1, 2, 255]) }];
  await wal.save(hs, es, true);
  assert.equal(wal.stats.syncs, 1);
  await wal.close();
  await assert.rejects(wal.save(undefined, range(7, 7, 3), true), { code: 'WAL_CLOSED' });

  const r = await Wal.open(dir);
  t.after(() => r.wal.close());
  assert.deepEqual(r.metadata, Buffer.from('member-meta'));
  assert.deepEqual(r.hardState, hs);
  assert.deepEqual(plain(r.entries), plain(es));
  assert.equal(r.repaired, undefined);
  // appending continues after reopen
  await r.wal.save({ term: 3, vote: 1n, commit: 7 }, range(7, 8, 3), true);
  await r.wal.close();
  const r2 = await Wal.open(dir);
  t.after(() => r2.wal.close());
  assert.deepEqual(r2.entries.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(r2.hardState, { term: 3, vote: 1n, commit: 7 });
});

test('create refuses an existing log; open refuses an empty dir', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  await wal.close();
  await assert.rejects(Wal.create(dir, Buffer.alloc(0)), WalExistsError);
  await assert.rejects(Wal.open(join(dir, 'nope')), WalNotFoundError);
  assert.equal(await Wal.exists(dir), true);
  assert.equal(await Wal.exists(join(dir, 'nope')), false);
});

test('a rewritten index drops the old suffix on replay', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  await wal.save(undefined, range(1, 10, 1), true);
  await wal.save(undefined, range(6, 8, 2), true); // leader change: 6..10 replaced by 6..8
  await wal.save(undefined, range(9, 9, 2), false);
  await wal.save(undefined, range(4, 4, 3), true); // again: keeps 1..3, then 4@3
  await wal.close();
  const r = await Wal.open(dir);
  t.after(() => r.wal.close());
  assert.deepEqual(
    r.entries.map((e) => [e.index, e.term]),
    [[1, 1], [2, 1], [3, 1], [4, 3]],
  );
});

test('save rejects gaps and non-consecutive batches without writing', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  t.after(() => wal.close());
  await wal.save(undefined, range(1, 3, 1), true);
  await assert.rejects(wal.save(undefined, range(5, 6, 1), true), WalInvalidAppendError);
  await assert.rejects(wal.save(undefined, [entry(4, 1), entry(6, 1)], true), WalInvalidAppendError);
  await assert.rejects(wal.save(undefined, [entry(4, -1)], true), WalInvalidAppendError);
  await wal.save(undefined, range(4, 4, 1), true); // the log is still usable
});

test('rotation across several segments, reopen, releaseTo', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.from('m'), { segmentBytes: smallSegmentBytes });
  let hs: HardState = { term: 1, vote: 2n, commit: 0 };
  for (let i = 1; i <= 400; i += 10) {
    hs = { term: 1, vote: 2n, commit: i + 9 };
    await wal.save(hs, range(i, i + 9, 1, 300), i % 20 === 1);
  }
  await wal.saveSnapshotMarker({ index: 250, term: 1 });
  await wal.sync();
  const names = wal.segmentNames();
  assert.ok(wal.stats.segmentsCut >= 5, `expected several cuts, got ${wal.stats.segmentsCut}`);
  assert.equal(names.length, wal.stats.segmentsCut + 1);
  assert.match(names[1], /^0000000000000001-[0-9a-f]{16}\.wal$/);
  // full segments are trimmed to their data; the name index is where new entries begin
  for (const n of names.slice(0, -1)) assert.ok((await stat(join(dir, n))).size >= smallSegmentBytes);
  await wal.close();

  const r = await Wal.open(dir, { segmentBytes: smallSegmentBytes });
  assert.deepEqual(r.entries.map((e) => e.index), range(1, 400, 1).map((e) => e.index));
  assert.equal(Buffer.from(r.entries[399].data).toString(), '400:'.padEnd(300, 'x'));
  assert.deepEqual(r.hardState, hs);
  assert.deepEqual(r.snapshot, { index: 250, term: 1 });
  assert.deepEqual(await Wal.validSnapshotMarkers(dir), [{ index: 250, term: 1 }]);

  await r.wal.releaseTo(250);
  const left = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
  assert.ok(left.length < names.length, 'some segments released');
  assert.deepEqual(left, r.wal.segmentNames());
  const firstIndex = Number.parseInt(left[0].slice(17, 33), 16);
  assert.ok(firstIndex <= 250, 'the segment holding index 250 is kept');
  await r.wal.save(undefined, range(401, 401, 2), true);
  await r.wal.close();

  // after the release the log replays from the snapshot, not from the beginning
  await assert.rejects(Wal.open(dir, { segmentBytes: smallSegmentBytes }), { code: 'WAL_INDEX_GAP' });
  const r2 = await Wal.open(dir, { segmentBytes: smallSegmentBytes, fromSnapshot: { index: 250, term: 1 } });
  t.after(() => r2.wal.close());
  assert.deepEqual(r2.entries.map((e) => e.index), range(251, 401, 1).map((e) => e.index));
  assert.deepEqual(r2.hardState, hs);
});

test('open requires the marker of the snapshot it starts from', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  await wal.save({ term: 2, vote: 1n, commit: 5 }, range(1, 5, 2), true);
  await wal.saveSnapshotMarker({ index: 3, term: 2 });
  await wal.close();
  await assert.rejects(Wal.open(dir, { fromSnapshot: { index: 4, term: 2 } }), WalSnapshotNotFoundError);
  await assert.rejects(Wal.open(dir, { fromSnapshot: { index: 3, term: 1 } }), { code: 'WAL_SNAPSHOT_MISMATCH' });
  const r = await Wal.open(dir, { fromSnapshot: { index: 3, term: 2 } });
  t.after(() => r.wal.close());
  assert.deepEqual(r.entries.map((e) => e.index), [4, 5]);
});

test('a snapshot installed from the leader lets entries continue after its index', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  await wal.save({ term: 1, vote: 0n, commit: 2 }, range(1, 2, 1), true);
  await wal.saveSnapshotMarker({ index: 1000, term: 4 });
  await wal.save({ term: 4, vote: 0n, commit: 1001 }, range(1001, 1003, 4), true);
  await wal.close();
  const r = await Wal.open(dir, { fromSnapshot: { index: 1000, term: 4 } });
  t.after(() => r.wal.close());
  assert.deepEqual(r.entries.map((e) => e.index), [1001, 1002, 1003]);
});

test('group commit: concurrent saves share fsyncs and each resolves after one', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  t.after(() => wal.close());
  const callers = 200;
  const syncsAtResolve: number[] = [];
  const work: Promise<void>[] = [];
  for (let i = 1; i <= callers; i++) {
    // each caller appends one entry and the hard state, like one raft Ready
    work.push(
      wal.save({ term: 1, vote: 0n, commit: i - 1 }, [entry(i, 1)], true).then(() => {
        syncsAtResolve.push(wal.stats.syncs);
      }),
    );
  }
  await Promise.all(work);
  assert.equal(syncsAtResolve.length, callers);
  // nothing resolved before an fsync had returned
  assert.ok(syncsAtResolve.every((n) => n >= 1));
  assert.ok(wal.stats.syncs < callers / 10, `expected far fewer fsyncs than ${callers} saves, got ${wal.stats.syncs}`);
  assert.ok(wal.stats.writes <= wal.stats.syncs + 1);
  await wal.close();
  const r = await Wal.open(dir);
  t.after(() => r.wal.close());
  assert.equal(r.entries.length, callers);
  assert.deepEqual(r.hardState.commit, callers - 1);
});

test('group commit: no save resolves before an fdatasync that began after its write returned', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.alloc(0));
  t.after(() => wal.close());
  // Watch the real file handle: which entry indexes were written, and which are covered by a
  // completed fdatasync (one that started after those writes finished).
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { writev: Function; datasync: Function };
  await probe.close();
  const { writev, datasync } = proto;
  const { writevSync } = fs;
  let writtenMax = 0;
  let durableMax = 0;
  let syncCalls = 0;
  let inlineWrites = 0;
  const noteWritten = (bufs: Buffer[]): void => {
    for (const b of bufs) {
      if (b.length < frameHeaderBytes || b[9] !== RecordType.Entry) continue;
      const { start, end } = frameData(b);
      writtenMax = Math.max(writtenMax, decodeEntryBody(b.subarray(start, end)).index);
    }
  };
  proto.writev = async function (this: unknown, bufs: Buffer[], pos: number) {
    const res = await writev.call(this, bufs, pos);
    noteWritten(bufs);
    return res;
  };
  // small passes write on the event loop (walInlineWriteMaxBytes)
  fs.writevSync = function (fd: number, bufs: NodeJS.ArrayBufferView[], pos?: number | null) {
    const n = writevSync(fd, bufs, pos);
    inlineWrites++;
    noteWritten(bufs as Buffer[]);
    return n;
  };
  syncBuiltinESMExports();
  proto.datasync = async function (this: unknown) {
    const covered = writtenMax;
    syncCalls++;
    await datasync.call(this);
    durableMax = Math.max(durableMax, covered);
  };
  t.after(() => {
    proto.writev = writev;
    proto.datasync = datasync;
    fs.writevSync = writevSync;
    syncBuiltinESMExports();
  });
  const callers = 300;
  const work: Promise<void>[] = [];
  let resolvedEarly = 0;
  for (let i = 1; i <= callers; i++) {
    work.push(wal.save(undefined, [entry(i, 1)], true).then(() => void (durableMax < i && resolvedEarly++)));
    // spread the calls over several fsyncs
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(work);
  assert.equal(resolvedEarly, 0);
  assert.equal(durableMax, callers);
  assert.ok(syncCalls >= 2 && syncCalls < callers / 10, `fsyncs: ${syncCalls}`);
  assert.ok(inlineWrites >= 2, `small passes are written on the event loop (${inlineWrites} inline writes)`);
});

test('setUnsafeNoFsync (--unsafe-no-fsync): synced saves skip fdatasync, the log still reads back', async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.from('m'), { segmentBytes: smallSegmentBytes });
  wal.setUnsafeNoFsync();
  await wal.save({ term: 1, vote: 0n, commit: 0 }, range(1, 200, 1, 200), true);
  await wal.save({ term: 1, vote: 0n, commit: 200 }, [], true);
  assert.equal(wal.stats.syncs, 0);
  assert.ok(wal.stats.segmentsCut > 0, 'segments were cut without syncing too');
  await wal.close();
  const r = await Wal.open(dir, { segmentBytes: smallSegmentBytes });
  t.after(() => r.wal.close());
  assert.equal(r.entries.length, 200);
  assert.equal(r.hardState.commit, 200);
});

test("the log is etcd's WAL format: etcd's record reader reads ours, and a log etcd's encoder wrote opens", async (t) => {
  const dir = await tempDir(t);
  const wal = await Wal.create(dir, Buffer.from([0x08, 0x2a, 0x10, 0x07]));
  const ents = [...range(1, 3, 1), { index: 4, term: 2, type: EntryType.Normal, data: Buffer.alloc(0) }, entry(5, 2, 'x'.repeat(300))];
  await wal.save({ term: 2, vote: 0xfedcba9876543210n, commit: 5 }, ents, true);
  await wal.saveSnapshotMarker({ index: 3, term: 1 });
  await wal.close();
  const [seg] = (await readdir(dir)).filter((n) => n.endsWith('.wal'));
  const recs = [...etcdWalRecords(await readFile(join(dir, seg)))];
  // crc, metadata, etcd's zero snapshot marker, entries, hard state, marker
  assert.deepEqual(
    recs.map((r) => r.type),
    [EtcdWalRecordType.crc, EtcdWalRecordType.metadata, EtcdWalRecordType.snapshot, ...ents.map(() => EtcdWalRecordType.entry), EtcdWalRecordType.state, EtcdWalRecordType.snapshot],
  );
  const e5 = decodePbFields(recs[7].data);
  assert.deepEqual([pbUint(e5, 1), pbUint(e5, 2), pbUint(e5, 3), pbBytes(e5, 4).toString()], [0n, 2n, 5n, 'x'.repeat(300)]);
  assert.equal(decodePbFields(recs[6].data).has(4), false, 'an empty entry has no data field, as etcd writes it');
  const hs = decodePbFields(recs[8].data);
  assert.deepEqual([pbUint(hs, 1), pbUint(hs, 2), pbUint(hs, 3)], [2n, 0xfedcba9876543210n, 5n]);

  // etcd's encoder (minimal varints): one segment as `etcdctl backup` writes it
  const other = await tempDir(t);
  const w = new EtcdWalWriter();
  w.record(EtcdWalRecordType.crc);
  w.record(EtcdWalRecordType.metadata, Buffer.from([0x08, 0x01, 0x10, 0x02]));
  w.record(EtcdWalRecordType.snapshot, Buffer.alloc(0));
  for (const e of range(1, 4, 3)) w.record(EtcdWalRecordType.entry, Buffer.from([...pbVarintField(1, 0), ...pbVarintField(2, e.term), ...pbVarintField(3, e.index), ...pbBytesField(4, e.data)]));
  w.record(EtcdWalRecordType.state, Buffer.from([...pbVarintField(1, 3), ...pbVarintField(2, 1), ...pbVarintField(3, 4)]));
  w.record(EtcdWalRecordType.snapshot, Buffer.from([...pbVarintField(1, 2), ...pbVarintField(2, 3)]));
  await writeFile(join(other, '0000000000000000-0000000000000000.wal'), w.bytes());
  const r = await Wal.open(other, { fromSnapshot: { index: 2, term: 3 } });
  t.after(() => r.wal.close());
  assert.deepEqual(r.metadata, Buffer.from([0x08, 0x01, 0x10, 0x02]));
  assert.deepEqual(r.hardState, { term: 3, vote: 1n, commit: 4 });
  assert.deepEqual(plain(r.entries), plain(range(3, 4, 3)));
  // and appends after it
  await r.wal.save({ term: 3, vote: 1n, commit: 5 }, [entry(5, 3)], true);
});
