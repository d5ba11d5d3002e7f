import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import { Client, NoSpaceError } from '../src/index.js';

test('maintenance against a real server', { timeout: 120_000 }, async (t) => {
  // A small quota so the NOSPACE alarm can be raised quickly.
  const cluster = await ProcessCluster.start(t, { bin: targetBin, size: 1, args: ['--quota-backend-bytes=1048576'] });
  const client = new Client({ endpoints: cluster.endpoints });
  t.after(() => client.close());
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  await t.test('snapshot streams a valid backend (checked by etcdctl snapshot status)', async () => {
    for (let i = 0; i < 20; i++) await client.put(`/snap/${i}`, 'x'.repeat(100));
    const file = join(dir, 'snap.db');
    let chunks = 0;
    const snap = client.maintenance.snapshot();
    snap.on('data', () => chunks++);
    await pipeline(snap, createWriteStream(file));
    assert.ok(chunks >= 1);
    const size = statSync(file).size;
    const st = await client.maintenance.status();
    assert.ok(size > 0 && BigInt(size) <= st.dbSize + 4096n, `snapshot ${size} bytes, db ${st.dbSize}`);
    const status = spawnSync('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    assert.equal(BigInt(parsed.revision), st.header?.revision);
    assert.ok(parsed.totalKey >= 20);
  });

  await t.test('status, hash, hashKV', async () => {
    const st = await client.maintenance.status();
    assert.match(st.version, /^3\.|^\d/);
    assert.equal(st.leader, st.header?.memberId);
    const h1 = await client.maintenance.hashKV();
    const h2 = await client.maintenance.hashKV();
    assert.equal(h1.hash, h2.hash);
    await client.put('/snap/changed', 'y');
    assert.notEqual((await client.maintenance.hashKV()).hash, h1.hash);
    assert.equal(typeof (await client.maintenance.hash()).hash, 'number');
  });

  await t.test('NOSPACE: typed error, alarm list, disarm after compact + defragment', async () => {
    const big = 'z'.repeat(64 * 1024);
    let err: unknown;
    // a put that fit when the server's gate saw it but not when applied (the backend grew in
    // between) is answered NOSPACE without raising the alarm (etcd's quotaApplierV3): go on
    // until the gate refuses one, which raises it. The gate reads the size the backend had at its
    // last commit (etcd commits every 100 ms), so on a fast machine 64 puts can all pass before
    // it moves: the bound is a count that outlasts several commits, not a guess of how many fit.
    for (let i = 0; i < 1000 && (err === undefined || (await client.maintenance.alarmList()).length === 0); i++) {
      try {
        await client.put(`/big/${i % 4}`, big);
      } catch (e) {
        err = e;
      }
    }
    assert.ok(err instanceof NoSpaceError, String(err));
    assert.equal(err.message, 'etcdserver: mvcc: database space exceeded');
    const alarms = await client.maintenance.alarmList();
    assert.deepEqual(alarms.map((a) => a.alarm), ['nospace']);
    await client.delete('/big/', { prefix: true });
    const rev = (await client.get('/none')).revision;
    await client.compact(rev, { physical: true });
    await client.maintenance.defragment();
    const disarmed = await client.maintenance.alarmDisarm();
    assert.deepEqual(disarmed.map((a) => a.alarm), ['nospace']);
    assert.deepEqual(await client.maintenance.alarmList(), []);
    await client.put('/after', 'ok');
  });
});
