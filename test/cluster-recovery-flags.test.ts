// Recovery and consistency flags on real 3-member clusters: --force-new-cluster (etcd's
// disaster recovery), --experimental-initial-corrupt-check and --experimental-corrupt-check-time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Backend, Buckets } from '../packages/server/src/backend/index.js';
import { ProcessCluster } from './kit/cluster.js';
import { eventually } from './kit/wait.js';

/** Flips the last byte of the newest stored value (a stopped member's backend): its KV hash changes. */
async function corruptNewestValue(dataDir: string): Promise<void> {
  const be = Backend.open({ path: join(dataDir, 'member', 'snap', 'db') });
  try {
    const all = be.range(Buckets.key);
    const [k, v] = all[all.length - 1];
    const bad = Buffer.from(v);
    bad[bad.length - 1] ^= 0xff;
    be.put(Buckets.key, k, bad);
    await be.forceCommit();
  } finally {
    await be.close();
  }
}

async function putKeys(c: ProcessCluster, n: number): Promise<void> {
  const cli = c.client([0, 1, 2]);
  for (let i = 0; i < n; i++) await cli.put(`foo${String(i).padStart(5, '0')}`, `v${String(i).padStart(5, '0')}`);
}

/** Waits until every running member applied the same revision. */
async function converged(c: ProcessCluster, idx: number[]): Promise<bigint> {
  return eventually('members on the same revision', 20_000, async () => {
    const revs = await Promise.all(idx.map(async (i) => (await c.client(i).get('foo00000')).revision));
    return revs.every((r) => r === revs[0]) ? revs[0] : undefined;
  });
}

test('--force-new-cluster: one member of a dead 3-member cluster serves its data alone', async (t) => {
  const c = await ProcessCluster.start(t);
  await putKeys(c, 10);
  await converged(c, [0, 1, 2]);
  const before = await c.client(0).cluster.memberList();
  assert.equal(before.members.length, 3);
  for (let i = 0; i < 3; i++) await c.stopMember(i);

  await c.startMember(0, 'new', undefined, ['--force-new-cluster']);
  const m = c.members[0];
  assert.ok(m.logs.some((l) => l.includes('"forcing restart member"')), 'logs the forced restart');
  const cli = c.client(0);
  const got = await cli.get('foo', { prefix: true });
  assert.equal(got.kvs.length, 10);
  assert.equal(got.kvs[9].value.toString(), 'v00009');
  const list = await cli.cluster.memberList();
  assert.equal(list.members.length, 1);
  assert.equal(list.members[0].name, m.name);
  // the cluster keeps its ID and takes writes with a quorum of one
  assert.equal(list.header.clusterId, before.header.clusterId);
  await cli.put('after', 'recovery');
  assert.equal((await cli.get('after')).kvs[0].value.toString(), 'recovery');

  // a plain restart keeps the one-member cluster
  await c.stopMember(0);
  await c.startMember(0, 'new');
  assert.equal((await c.client(0).cluster.memberList()).members.length, 1);
  assert.equal((await c.client(0).get('after')).kvs[0].value.toString(), 'recovery');
});

test('--experimental-initial-corrupt-check: a member whose data differs from its peers refuses to start', async (t) => {
  const c = await ProcessCluster.start(t, { args: ['--experimental-initial-corrupt-check'] });
  await putKeys(c, 10);
  await converged(c, [0, 1, 2]);
  const id0 = (await c.client(0).maintenance.status()).header!.memberId.toString(16);

  // an intact member passes the check on restart
  await c.stopMember(2);
  await c.startMember(2, 'new');
  assert.ok(c.members[2].logs.some((l) => l.includes('"initial corruption checking passed; no corruption"')));

  // a clean stop: the backend holds every applied write (a SIGKILL may leave them in the WAL only)
  await c.stopMember(0, 'SIGTERM');
  await corruptNewestValue(c.members[0].dataDir);
  await assert.rejects(c.startMember(0, 'new'), /exited \(1\) before serving/);
  const line = c.members[0].logs.find((l) => l.includes('found data inconsistency with peers'));
  assert.ok(line, c.members[0].logs.slice(-10).join('\n'));
  assert.ok(line.includes(`${id0} found data inconsistency with peers`), line);
  assert.ok(c.members[0].logs.some((l) => l.includes('"found different hash values from remote peer"')));
  // without the check the same member starts (etcd only checks when asked)
});

test('--experimental-corrupt-check-time: the leader raises the CORRUPT alarm when a follower differs', async (t) => {
  const c = await ProcessCluster.start(t, { args: ['--experimental-corrupt-check-time', '300ms'] });
  await putKeys(c, 5);
  await converged(c, [0, 1, 2]);
  const lead = await c.leader();
  const f = (lead + 1) % 3;
  await c.stopMember(f, 'SIGTERM');
  await corruptNewestValue(c.members[f].dataDir);
  await c.startMember(f, 'new');
  const cli = c.client(lead);
  const alarms = await eventually('the CORRUPT alarm', 20_000, async () => {
    const r = await cli.maintenance.alarmList();
    return r.length > 0 ? r : undefined;
  });
  assert.deepEqual(
    alarms.map((a) => [a.memberId, a.alarm]),
    [[0n, 'corrupt']],
  );
  // (the leader may have changed meanwhile on a loaded machine: any member that led may have checked)
  assert.ok(c.members.some((m) => m.logs.some((l) => l.includes('"same compact revision then hashes must match"'))));
  // with the alarm raised, writes fail with etcd's error
  await assert.rejects(cli.put('x', 'y'), /etcdserver: corrupt cluster/);
});

test('--strict-reconfig-check=false lets a member add through that loses quorum', async (t) => {
  for (const strict of [true, false]) {
    const c = await ProcessCluster.start(t, { args: strict ? [] : ['--strict-reconfig-check=false'] });
    const lead = await c.leader();
    const down = (lead + 1) % 3;
    const downId = (await c.client(down).maintenance.status()).header!.memberId.toString(16);
    await c.stopMember(down);
    const cli = c.client(lead, 10_000);
    // the leader notices the stopped member's streams break
    await eventually('the leader to see the member down', 20_000, async () =>
      c.members[lead].logs.some((l) => l.includes('"peer became inactive') && l.includes(downId)) ? true : undefined);
    if (strict) {
      // the leader sees the member go down, then refuses to grow the cluster
      await eventually('the add refused', 20_000, async () => {
        try {
          await cli.cluster.memberAdd(['http://127.0.0.1:1']);
          throw new Error('member add was accepted');
        } catch (e) {
          if (/member add was accepted/.test(String(e))) throw e;
          return /etcdserver: unhealthy cluster/.test(String(e)) ? true : undefined;
        }
      });
      assert.equal((await cli.cluster.memberList()).members.length, 3);
    } else {
      const r = await cli.cluster.memberAdd(['http://127.0.0.1:1']);
      assert.equal(r.members.length, 4);
      // 2 of 4 voters are up: no quorum for writes any more
      await assert.rejects(c.client(lead, 2000).put('k', 'v'));
    }
    await c.close();
  }
});
