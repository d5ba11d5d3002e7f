import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Snapshot } from '@tsetcd/raft';
import { SnapCorruptError, Snapshotter, snapFileName } from '../src/snap/index.js';
import { crc32c, decodePbFields, encodeVarint, mulberry32, pbBytes, pbBytesField, pbUint, pbVarintField } from '@tsetcd/common';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-snap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function snap(index: number, term: number, data: Buffer): Snapshot {
  return { data, metadata: { index, term, confState: { voters: [1n, 0xffffffffffffffffn], learners: [7n] } } };
}

test('save and load round trip; names are %016x-%016x.snap', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  const data = Buffer.alloc(9 * 1024 * 1024 + 3); // spans several write/read chunks
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
  const name = await s.save(snap(0x1234, 5, data));
  assert.equal(name, '0000000000000005-0000000000001234.snap');
  assert.equal(snapFileName(5, 0x1234), name);
  const loaded = await s.loadNewestAvailable();
  assert.ok(loaded);
  assert.deepEqual(loaded.metadata, snap(0x1234, 5, data).metadata);
  assert.ok(Buffer.from(loaded.data).equals(data));
  assert.deepEqual(await readdir(dir), [name]); // no temporary file left behind
});

test('empty dir or missing dir: nothing to load', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await new Snapshotter(dir).loadNewestAvailable(), undefined);
  assert.equal(await new Snapshotter(join(dir, 'missing')).loadNewestAvailable(), undefined);
});

test('keeps the newest N files', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir, { keep: 3 });
  for (let i = 1; i <= 6; i++) await s.save(snap(i * 100, 1 + Math.floor(i / 4), Buffer.from(`state ${i}`)));
  const left = (await s.list()).map((f) => f.index);
  assert.deepEqual(left, [600, 500, 400]);
  assert.equal((await readdir(dir)).length, 3);
});

test('a corrupt newest file is renamed .broken and the older one is loaded', async (t) => {
  const dir = await tempDir(t);
  const warnings: string[] = [];
  const s = new Snapshotter(dir, { onWarning: (m) => warnings.push(m) });
  await s.save(snap(10, 1, Buffer.from('old state')));
  const newest = await s.save(snap(20, 1, Buffer.from('new state, longer')));
  const path = join(dir, newest);
  const buf = await readFile(path);
  buf[buf.length - 20] ^= 1; // a flipped bit in the data
  await writeFile(path, buf);
  await assert.rejects(s.load(newest), (err: unknown) => err instanceof SnapCorruptError && err.code === 'SNAP_CORRUPT' && err.file === path);
  const loaded = await s.loadNewestAvailable();
  assert.equal(loaded?.metadata.index, 10);
  assert.equal(Buffer.from(loaded!.data).toString(), 'old state');
  assert.deepEqual((await readdir(dir)).sort(), [snapFileName(1, 10), newest + '.broken'].sort());
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /checksum mismatch/);
});

test('truncated and garbage files are corrupt too; all broken means none', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  const a = await s.save(snap(1, 1, Buffer.alloc(1000, 1)));
  const b = await s.save(snap(2, 1, Buffer.alloc(1000, 2)));
  await truncate(join(dir, b), (await stat(join(dir, b))).size - 5);
  await writeFile(join(dir, a), Buffer.from('not a snapshot at all, no magic here'));
  assert.equal(await s.loadNewestAvailable(), undefined);
  assert.deepEqual((await readdir(dir)).sort(), [a + '.broken', b + '.broken']);
});

test('only snapshots the WAL knows about are candidates', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  await s.save(snap(10, 1, Buffer.from('ten')));
  await s.save(snap(20, 2, Buffer.from('twenty'))); // saved, but its WAL marker never made it
  const loaded = await s.loadNewestAvailable([{ index: 10, term: 1 }]);
  assert.equal(loaded?.metadata.index, 10);
  assert.equal(await s.loadNewestAvailable([{ index: 30, term: 2 }]), undefined);
});

test('saveStream writes chunks without knowing the length; tmp leftovers are cleaned', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  async function* parts() {
    for (let i = 0; i < 5; i++) yield Buffer.alloc(1000 + i, 65 + i);
  }
  await s.saveStream({ index: 7, term: 3, confState: { voters: [1n], learners: [] } }, parts());
  await writeFile(join(dir, snapFileName(3, 8) + '.tmp'), Buffer.from('half written'));
  const loaded = await s.loadNewestAvailable();
  assert.equal(loaded?.data.length, 5010);
  assert.equal(loaded?.data[4999], 69);
  assert.deepEqual(await readdir(dir), [snapFileName(3, 7)]);
  await assert.rejects(s.save(snap(0, 1, Buffer.alloc(1))), { code: 'SNAP_INVALID' });
});

test('a file whose header disagrees with its name is corrupt', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  const name = await s.save(snap(5, 1, Buffer.from('x')));
  const fh = await open(join(dir, name), 'r');
  const copy = await fh.readFile();
  await fh.close();
  await writeFile(join(dir, snapFileName(1, 6)), copy);
  await assert.rejects(s.load(snapFileName(1, 6)), /name disagrees/);
});

test('a process killed around a snapshot save leaves the previous snapshot loadable', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/snap-crash-writer.ts', import.meta.url));
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const cases = [
    { failpoints: 'snapshotBeforeSave=3*exit', newest: 2 }, // dies before writing snapshot 3
    { failpoints: 'snapshotAfterSave=3*exit', newest: 3 }, // dies right after snapshot 3 is durable
  ];
  await Promise.all(
    cases.map(async ({ failpoints, newest }) => {
      const dir = await tempDir(t);
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], {
        cwd,
        env: { ...process.env, TSETCD_FAILPOINTS: failpoints },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      const [, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      assert.equal(signal, 'SIGKILL', failpoints);
      assert.deepEqual(out.trim().split('\n'), ['saved 1', 'saved 2']);
      const loaded = await new Snapshotter(dir).loadNewestAvailable();
      assert.equal(loaded?.metadata.index, newest, failpoints);
      assert.ok(Buffer.from(loaded!.data).equals(Buffer.alloc(1024 * 1024, newest)));
    }),
  );
});

test("files are etcd's snappb.Snapshot: crc of a raftpb.Snapshot with the data and metadata; packed member lists read too", async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  const name = await s.save(snap(9, 2, Buffer.from('{"Root":{}}')));
  const file = decodePbFields(await readFile(join(dir, name)));
  const raftSnap = pbBytes(file, 2);
  assert.equal(Number(pbUint(file, 1)), crc32c(raftSnap));
  const rs = decodePbFields(raftSnap);
  assert.equal(pbBytes(rs, 1).toString(), '{"Root":{}}');
  const meta = decodePbFields(pbBytes(rs, 2));
  assert.deepEqual([pbUint(meta, 2), pbUint(meta, 3)], [9n, 2n]);
  const conf = decodePbFields(pbBytes(meta, 1));
  assert.deepEqual(conf.get(1), [1n, 0xffffffffffffffffn]); // repeated, unpacked: as etcd's gogo code writes them
  assert.deepEqual(conf.get(2), [7n]);

  // packed voters (another protobuf writer) load the same
  const packedConf = Buffer.from([...pbBytesField(1, Buffer.from([...encodeVarint(3n), ...encodeVarint(4n)]))]);
  const packedMeta = Buffer.from([...pbBytesField(1, packedConf), ...pbVarintField(2, 11), ...pbVarintField(3, 2)]);
  const packedSnap = Buffer.from([...pbBytesField(1, Buffer.from('x')), ...pbBytesField(2, packedMeta)]);
  await writeFile(join(dir, snapFileName(2, 11)), Buffer.from([...pbVarintField(1, crc32c(packedSnap)), ...pbBytesField(2, packedSnap)]));
  const loaded = await s.load(snapFileName(2, 11));
  assert.deepEqual(loaded.metadata, { index: 11, term: 2, confState: { voters: [3n, 4n], learners: [] } });
  assert.equal(Buffer.from(loaded.data).toString(), 'x');
});

test('a damaged snapshot file is refused as corrupt, never with another error (seeded mutations)', async (t) => {
  const dir = await tempDir(t);
  const s = new Snapshotter(dir);
  const name = await s.save(snap(5, 1, Buffer.from('{"Root":{"Path":"/"}}')));
  const good = await readFile(join(dir, name));
  const rnd = mulberry32(0xdab);
  for (let i = 0; i < 300; i++) {
    const bad = Buffer.from(good);
    for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
    if (bad.equals(good)) continue;
    await writeFile(join(dir, name), i % 5 === 0 ? bad.subarray(0, Math.floor(rnd() * bad.length)) : bad);
    await assert.rejects(s.load(name), SnapCorruptError);
  }
});
