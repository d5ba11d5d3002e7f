// The bbolt writer and reader: round trips of generated buckets (inline, multi-level branch trees,
// overflow values, empty buckets), meta checksums, and the real etcdctl's `snapshot status`
// (bbolt's tx.Check: every page reachable or free exactly once) on the files written.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { BoltReader, BoltReadError, fnv64a } from '@tsetcd/common';
import { writeBolt, type BoltBucket } from '../src/bolt/bolt-writer.js';
import { tempDir } from './server-helpers.js';

function sortedEntries(m: Map<string, Buffer>): Array<[Buffer, Buffer]> {
  return [...m.entries()].map(([k, v]) => [Buffer.from(k, 'hex'), v] as [Buffer, Buffer]).sort((a, b) => Buffer.compare(a[0], b[0]));
}

function roundTrip(buckets: BoltBucket[]): void {
  const file = Buffer.concat(writeBolt(buckets));
  const r = new BoltReader(file);
  assert.equal(BigInt(file.length), r.meta.highWaterPgid * BigInt(r.meta.pageSize));
  const got = r.buckets();
  const want = [...buckets].sort((a, b) => Buffer.compare(a.name, b.name));
  assert.deepEqual(got.map((b) => b.name), want.map((b) => b.name.toString('latin1')));
  got.forEach((b, i) => assert.deepEqual(b.entries, want[i].entries, b.name));
}

test('bolt: fnv-64a of known inputs', () => {
  assert.equal(fnv64a(Buffer.alloc(0)), 0xcbf29ce484222325n);
  assert.equal(fnv64a(Buffer.from('a')), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv64a(Buffer.from('foobar')), 0x85944171f73967e8n);
});

test('bolt: generated buckets round-trip (inline, branches, overflow, empty)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          name: fc.string({ minLength: 1, maxLength: 12 }),
          entries: fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 3000, maxLength: 9000 }))), { maxLength: 400 }),
        }),
        { maxLength: 6 },
      ),
      (raw) => {
        const byName = new Map<string, Map<string, Buffer>>();
        for (const b of raw) {
          const m = byName.get(b.name) ?? new Map<string, Buffer>();
          for (const [k, v] of b.entries) m.set(Buffer.from(k).toString('hex'), Buffer.from(v));
          byName.set(b.name, m);
        }
        roundTrip([...byName].map(([name, m]) => ({ name: Buffer.from(name), entries: sortedEntries(m) })));
      },
    ),
    { numRuns: 40 },
  );
});

test('bolt: the newest valid meta wins; a corrupt meta falls back to the other; garbage is refused', () => {
  const file = Buffer.concat(writeBolt([{ name: Buffer.from('key'), entries: [[Buffer.from('k'), Buffer.from('v')]] }]));
  assert.equal(new BoltReader(file).meta.txid, 1n);
  const broken = Buffer.from(file);
  broken[4096 + 16 + 40] ^= 0xff; // meta 1's high-water pgid: checksum no longer matches
  assert.equal(new BoltReader(broken).meta.txid, 0n);
  assert.throws(() => new BoltReader(Buffer.alloc(8192)), BoltReadError);
  assert.throws(() => writeBolt([{ name: Buffer.from('b'), entries: [[Buffer.from('z'), Buffer.alloc(0)], [Buffer.from('a'), Buffer.alloc(0)]] }]), /not strictly increasing/);
});

test('bolt: real etcdctl checks and hashes a large written file', async (t) => {
  const dir = await tempDir(t, 'tsetcd-bolt-');
  const keys: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < 30_000; i++) {
    const k = Buffer.alloc(17);
    k.writeBigUInt64BE(BigInt(i + 2), 0);
    k[8] = 0x5f;
    keys.push([k, Buffer.from(`value ${i} `.repeat(1 + (i % 7)))]);
  }
  const last = Buffer.alloc(17);
  last.writeBigUInt64BE(100_000n, 0);
  last[8] = 0x5f;
  keys.push([last, Buffer.alloc(50_000, 7)]); // an overflow value, last in key order
  keys.sort((a, b) => Buffer.compare(a[0], b[0]));
  const buckets: BoltBucket[] = [
    { name: Buffer.from('key'), entries: keys },
    { name: Buffer.from('meta'), entries: [[Buffer.from('consistent_index'), Buffer.alloc(8)]] },
    { name: Buffer.from('lease'), entries: [] },
  ];
  const file = join(dir, 'big.db');
  writeFileSync(file, Buffer.concat(writeBolt(buckets)));
  roundTrip(buckets);
  const out = await new Promise<string>((resolve, reject) =>
    execFile('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
  );
  const st = JSON.parse(out) as { revision: number; totalKey: number; totalSize: number };
  assert.equal(st.totalKey, keys.length + 1);
  assert.equal(st.revision, 100_000);
  assert.equal(st.totalSize % 4096, 0);
});
