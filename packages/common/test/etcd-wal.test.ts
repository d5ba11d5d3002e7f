// etcd's WAL framing: what the writer frames the reader reads back, and the reader reads the WAL
// the real etcd wrote (its metadata names the member etcdctl lists).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdWalError, etcdWalRecords, EtcdWalRecordType, EtcdWalWriter } from '../src/etcd-wal.js';
import { decodePbFields, pbUint, pbVarintField } from '../src/protobuf-wire.js';
import { execFileSync } from 'node:child_process';
import { startRealEtcd } from '../../../test/kit/real-etcd.js';

const etcdctl = (endpoint: string, ...args: string[]): string =>
  execFileSync('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }).toString();

test('etcd WAL: records round-trip, 8-byte aligned, zeros end the log, a torn record is refused', () => {
  const w = new EtcdWalWriter();
  w.record(EtcdWalRecordType.crc);
  w.record(EtcdWalRecordType.metadata, Buffer.from(pbVarintField(1, 0xabcn)));
  w.record(EtcdWalRecordType.entry, Buffer.from('x'.repeat(13)));
  const bytes = w.bytes();
  assert.equal(bytes.length % 8, 0);
  const segment = Buffer.concat([bytes, Buffer.alloc(64)]);
  const recs = [...etcdWalRecords(segment)];
  assert.deepEqual(recs.map((r) => r.type), [EtcdWalRecordType.crc, EtcdWalRecordType.metadata, EtcdWalRecordType.entry]);
  assert.equal(pbUint(decodePbFields(recs[1].data), 1), 0xabcn);
  assert.equal(recs[2].data.toString(), 'x'.repeat(13));
  assert.throws(() => [...etcdWalRecords(bytes.subarray(0, bytes.length - 3))], EtcdWalError);
});

test("etcd WAL: the reader reads the real etcd's segment", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etcd = await startRealEtcd({ dir });
  t.after(() => etcd.kill());
  etcdctl(etcd.endpoint, 'put', 'k', 'v');
  const memberId = BigInt(`0x${etcdctl(etcd.endpoint, 'member', 'list').split(',')[0]}`);
  await etcd.stop();
  const walDir = join(etcd.dataDir, 'member', 'wal');
  const segment = readFileSync(join(walDir, readdirSync(walDir).filter((n) => n.endsWith('.wal')).sort()[0]));
  const recs = [...etcdWalRecords(segment)];
  assert.equal(recs[0].type, EtcdWalRecordType.crc);
  const meta = recs.find((r) => r.type === EtcdWalRecordType.metadata)!;
  assert.equal(pbUint(decodePbFields(meta.data), 1), memberId, 'metadata NodeID is the member');
  assert.ok(recs.some((r) => r.type === EtcdWalRecordType.entry));
  assert.ok(recs.some((r) => r.type === EtcdWalRecordType.state));
});
