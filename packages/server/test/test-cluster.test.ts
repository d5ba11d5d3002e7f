// startCluster (@tsetcd/server/testing): a three-member in-process cluster survives a killed
// and a partitioned leader, a restarted member catches up, and close() removes every data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../src/testing.js';
import { eventually } from '../../../test/kit/wait.js';

test('three members: kill and restart the leader, partition and heal, close removes data dirs', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'tsetcd-cluster-test-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const cluster = await startCluster({ members: 3, baseDir: base });
  t.after(() => cluster.close());
  assert.equal(cluster.endpoints.length, 3);
  assert.equal(new Set(cluster.endpoints).size, 3);
  const dataDirs = readdirSync(base);
  assert.equal(dataDirs.length, 1, 'one temporary dir for the cluster');

  const client = await cluster.client();
  await client.put('k', 'v1');
  assert.equal((await client.get('k')).kvs[0].value.toString(), 'v1');

  // kill the leader: the others elect a new one and keep serving
  const first = await cluster.leader();
  await cluster.kill(first);
  assert.equal(cluster.member(first), undefined);
  const second = await cluster.leader();
  assert.notEqual(second, first);
  await client.put('k', 'v2');

  // restart it: same endpoint, catches up with the write it missed
  await cluster.restart(first);
  const restarted = cluster.member(first)!;
  assert.equal(restarted.clientUrls[0], cluster.endpoints[first]);
  await eventually('restarted member applied v2', 10_000, () => {
    const kv = restarted.server.store.range(Buffer.from('k')).kvs[0];
    return kv?.value.toString() === 'v2' ? true : undefined;
  });

  // partition the leader: a new leader among the other two, the write goes through
  const third = await cluster.leader();
  cluster.partition(third);
  const fourth = await cluster.leader();
  assert.notEqual(fourth, third);
  // a client of the majority side (one pinned to the isolated member would time out, as on etcd)
  const majority = await cluster.client({ endpoints: cluster.endpoints.filter((_, i) => i !== third) });
  await majority.put('k', 'v3');
  // the isolated member does not see it until healed
  const isolated = cluster.member(third)!;
  assert.notEqual(isolated.server.store.range(Buffer.from('k')).kvs[0]?.value.toString(), 'v3');
  cluster.heal(third);
  await eventually('healed member applied v3', 10_000, () => {
    const kv = isolated.server.store.range(Buffer.from('k')).kvs[0];
    return kv?.value.toString() === 'v3' ? true : undefined;
  });

  await cluster.close();
  assert.equal(existsSync(join(base, dataDirs[0])), false, 'data dirs removed on close');
  await assert.rejects(cluster.client(), /closed/);
});

test('partition(i) also cuts the lease renewals a follower forwards to the leader', async (t) => {
  const cluster = await startCluster({ members: 3 });
  t.after(() => cluster.close());
  const leader = await cluster.leader();
  const follower = (leader + 1) % 3;
  const viaFollower = await cluster.client({ endpoints: [cluster.endpoints[follower]] });
  const { id } = await viaFollower.lease.grant(60);
  assert.ok((await viaFollower.lease.keepAliveOnce(id)).ttl > 0n, 'forwarded to the leader while connected');
  cluster.partition(follower);
  await assert.rejects(viaFollower.lease.keepAliveOnce(id, { timeout: 3000 }), /no leader|timed out|deadline exceeded/);
  cluster.heal();
  await eventually('renewals reach the leader again', 10_000, async () => ((await viaFollower.lease.keepAliveOnce(id)).ttl > 0n ? true : undefined));
});

test('one member by default; bad sizes are refused', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.close());
  assert.equal(cluster.endpoints.length, 1);
  assert.equal(await cluster.leader(), 0);
  await assert.rejects(startCluster({ members: 0 }), /members must be a positive integer/);
  assert.throws(() => cluster.partition(3), /no member 3/);
});
