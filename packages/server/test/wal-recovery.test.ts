// Damaged logs: what open() repairs (a torn or zeroed tail of the last segment) and what it
// refuses with an error naming the file and byte offset (everything else).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry } from '@tsetcd/raft';
import { Wal, WalCorruptError, WalIndexGapError, WalMissingSegmentError } from '../src/wal/index.js';
import { decodeFrame, encodeCrc, encodeEntry, encodeMetadata, sealFrame } from '../src/wal/record.js';
import { mulberry32 } from '@tsetcd/common';

const segmentBytes = 8 * 1024;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-walrec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entries(from: number, to: number, size = 40): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term: 1, type: EntryType.Normal, data: Buffer.from(`${i}|`.padEnd(size, '.')) });
  return out;
}

/** Writes entries 1..n one save each; returns the segment file paths, oldest first. */
async function writeLog(dir: string, n: number, size = 40): Promise<string[]> {
  const wal = await Wal.create(dir, Buffer.from('meta'), { segmentBytes });
  for (let i = 1; i <= n; i++) await wal.save({ term: 1, vote: 1n, commit: i }, entries(i, i, size), i % 7 === 0 || i === n);
  await wal.close();
  return (await readdir(dir)).filter((f) => f.endsWith('.wal')).sort().map((f) => join(dir, f));
}

/** Byte offsets of the records in a segment file, and where its data ends. */
async function recordOffsets(path: string): Promise<{ offsets: number[]; end: number }> {
  const buf = await readFile(path);
  const offsets: number[] = [];
  let off = 0;
  let chain = 0;
  for (;;) {
    const d = decodeFrame(buf, off, chain);
    if (d.kind !== 'record') break;
    offsets.push(off);
    chain = d.chain;
    off = d.next;
  }
  return { offsets, end: off };
}

async function patch(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

async function flipByte(path: string, offset: number): Promise<void> {
  const buf = await readFile(path);
  await patch(path, offset, Buffer.from([buf[offset] ^ 0x40]));
}

test('a last segment cut mid-record opens with the partial record removed', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLog(dir, 20);
  assert.equal(files.length, 1);
  const { offsets } = await recordOffsets(files[0]);
  const lastRecord = offsets[offsets.length - 2]; // entry 20 (the hard state record follows it)
  await truncate(files[0], lastRecord + 30);
  const warnings: string[] = [];
  const r = await Wal.open(dir, { segmentBytes, onWarning: (m) => warnings.push(m) });
  t.after(() => r.wal.close());
  assert.deepEqual(r.entries.map((e) => e.index), entries(1, 19).map((e) => e.index));
  assert.equal(r.hardState.commit, 19);
  assert.equal(r.repaired?.offset, lastRecord);
  assert.equal(warnings.length, 1);
  // the repaired log takes appends and replays cleanly
  await r.wal.save({ term: 1, vote: 1n, commit: 21 }, entries(20, 21), true);
  await r.wal.close();
  const r2 = await Wal.open(dir, { segmentBytes });
  t.after(() => r2.wal.close());
  assert.equal(r2.repaired, undefined);
  assert.deepEqual(r2.entries.map((e) => e.index), entries(1, 21).map((e) => e.index));
});

test('a zero-filled tail (preallocated space, or a record whose end never reached disk) opens', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLog(dir, 20);
  const { offsets, end } = await recordOffsets(files[0]);
  const entry20 = offsets[offsets.length - 2];
  // zero the second half of entry 20 and the hard state after it
  await patch(files[0], entry20 + 24, Buffer.alloc(end - entry20 - 24));
  const r = await Wal.open(dir, { segmentBytes });
  t.after(() => r.wal.close());
  assert.deepEqual(r.entries.map((e) => e.index), entries(1, 19).map((e) => e.index));
  assert.equal(r.repaired?.offset, entry20);
  await r.wal.close();
  // a whole record zeroed at the end is a clean end of log, not a repair
  const r2 = await Wal.open(dir, { segmentBytes });
  t.after(() => r2.wal.close());
  assert.equal(r2.repaired, undefined);
  assert.equal(r2.entries.length, 19);
});

test('a flipped byte in the middle of the log refuses to open, naming file and offset', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLog(dir, 20);
  const { offsets } = await recordOffsets(files[0]);
  const victim = offsets[8];
  for (const at of [victim + 20 /* body */, victim + 1 /* length field */]) {
    await flipByte(files[0], at);
    await assert.rejects(Wal.open(dir, { segmentBytes }), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError, String(err));
      assert.equal(err.code, 'WAL_CORRUPT');
      assert.equal(err.file, files[0]);
      assert.equal(err.offset, victim);
      assert.match(err.message, new RegExp(`${files[0]}.*byte offset ${victim}`));
      return true;
    });
    await flipByte(files[0], at); // undo
  }
  const r = await Wal.open(dir, { segmentBytes });
  t.after(() => r.wal.close());
  assert.equal(r.entries.length, 20);
});

test('damage in a segment that is not the last one is never repaired', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLog(dir, 200, 200);
  assert.ok(files.length >= 3, `expected several segments, got ${files.length}`);
  const { offsets } = await recordOffsets(files[1]);
  // the final record of a middle segment, followed by nothing: looks like a torn tail, but is not the tail
  const lastOfMiddle = offsets[offsets.length - 1];
  await flipByte(files[1], lastOfMiddle + 20);
  await assert.rejects(Wal.open(dir, { segmentBytes }), { code: 'WAL_CORRUPT', file: files[1], offset: lastOfMiddle });
});

test('a missing middle segment refuses to open', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLog(dir, 200, 200);
  assert.ok(files.length >= 3);
  await rm(files[1]);
  await assert.rejects(Wal.open(dir, { segmentBytes }), (err: unknown) => {
    assert.ok(err instanceof WalMissingSegmentError);
    assert.equal(err.code, 'WAL_MISSING_SEGMENT');
    assert.equal(err.file, files[2]);
    return true;
  });
});

test('a segment from another log breaks the crc chain', async (t) => {
  const dir = await tempDir(t);
  const other = await tempDir(t);
  const files = await writeLog(dir, 200, 200);
  const otherFiles = await writeLog(other, 200, 201);
  assert.equal(files.length, otherFiles.length);
  await writeFile(files[1], await readFile(otherFiles[1]));
  await assert.rejects(Wal.open(dir, { segmentBytes }), { code: 'WAL_CORRUPT', file: files[1], offset: 0 });
});

test('an index gap refuses to open, naming file and offset', async (t) => {
  const dir = await tempDir(t);
  // craft a segment by hand: entries 1, 2, 4
  const frames = [encodeCrc(0), encodeMetadata(Buffer.from('m'))];
  for (const i of [1, 2, 4]) frames.push(encodeEntry(i, 1, EntryType.Normal, Buffer.from(`e${i}`)));
  let chain = 0;
  let gapOffset = 0;
  let off = 0;
  for (const [k, f] of frames.entries()) {
    chain = sealFrame(f, chain);
    if (k === frames.length - 1) gapOffset = off;
    off += f.length;
  }
  const file = join(dir, '0000000000000000-0000000000000000.wal');
  await writeFile(file, Buffer.concat([...frames, Buffer.alloc(1024)]));
  await assert.rejects(Wal.open(dir), (err: unknown) => {
    assert.ok(err instanceof WalIndexGapError);
    assert.equal(err.file, file);
    assert.equal(err.offset, gapOffset);
    assert.equal(err.expectedIndex, 3);
    assert.equal(err.gotIndex, 4);
    return true;
  });
});

test('zeros where a header belongs, followed by records, are corruption, not an end', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLog(dir, 20);
  const { offsets } = await recordOffsets(files[0]);
  await patch(files[0], offsets[5], Buffer.alloc(16));
  await assert.rejects(Wal.open(dir, { segmentBytes }), { code: 'WAL_CORRUPT', file: files[0], offset: offsets[5] });
});

test('leftover temporary segments from a crashed cut are removed', async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir, 5);
  await writeFile(join(dir, '0000000000000001-0000000000000006.wal.tmp'), Buffer.alloc(100, 1));
  const r = await Wal.open(dir, { segmentBytes });
  t.after(() => r.wal.close());
  assert.equal(r.entries.length, 5);
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
});

test("a log in tsetcd's earlier (pre-etcd) record format is refused with a message saying so", async (t) => {
  const dir = await tempDir(t);
  // that format's first record: u32 body length 4, type 1 (crc), zeros, two checksums, the body
  const old = Buffer.alloc(4096);
  old.writeUInt32LE(4, 0);
  old[4] = 1;
  old.writeUInt32LE(0x12345678, 8);
  old.writeUInt32LE(0x9abcdef0, 12);
  const file = join(dir, '0000000000000000-0000000000000000.wal');
  await writeFile(file, old);
  await assert.rejects(Wal.open(dir), (err: unknown) => {
    assert.ok(err instanceof WalCorruptError);
    assert.equal(err.file, file);
    assert.match(err.message, /tsetcd's own WAL format of earlier versions/);
    return true;
  });
});

test('decodeFrame answers record, end or bad for any bytes (seeded mutations of valid frames and random bytes), never throws', () => {
  const rnd = mulberry32(0x5eed);
  const frames = [encodeCrc(7), encodeMetadata(Buffer.from([8, 1, 16, 2])), encodeEntry(300, 2, EntryType.Normal, Buffer.alloc(200, 1)), encodeEntry(1, 1, EntryType.ConfChange, Buffer.alloc(0))];
  let chain = 0;
  for (const f of frames) chain = sealFrame(f, chain);
  const log = Buffer.concat([...frames, Buffer.alloc(64)]);
  for (let i = 0; i < 20_000; i++) {
    const buf = Buffer.from(log);
    if (i % 4 === 3) for (let k = 0; k < buf.length; k++) buf[k] = Math.floor(rnd() * 256);
    else for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
    let off = 0;
    let c = 0;
    for (let steps = 0; steps < 10; steps++) {
      const d = decodeFrame(buf, off, c);
      if (d.kind !== 'record') break;
      assert.ok(d.next > off && d.next <= buf.length);
      c = d.chain;
      off = d.next;
    }
  }
});
