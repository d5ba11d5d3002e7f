// --experimental-enable-lease-checkpoint: the leader records each long lease's remaining TTL
// through raft, so after a leader change the lease keeps counting down instead of starting
// over with its full TTL (etcd's lease checkpoints; the interval is 5 minutes in etcd, 500 ms here).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '@tsetcd/proto';
import { startCluster } from '../src/embed/test-cluster.js';
import { connect, call } from './server-helpers.js';
import { waitFor } from '../../../test/kit/wait.js';

const P = etcdserverpb;

async function ttlAfterFailover(t: import('node:test').TestContext, leaseCheckpoint: boolean): Promise<bigint> {
  const cluster = await startCluster({ members: 3, memberOptions: { leaseCheckpoint, leaseCheckpointIntervalMs: 500 } });
  t.after(() => cluster.close());
  const lead = await cluster.leader();
  const c = connect(t, cluster.endpoints[lead]);
  const { ID } = await call(c.lease.leaseGrant.bind(c.lease), P.LeaseGrantRequest.fromPartial({ TTL: 30n }));
  const follower = (lead + 1) % 3;
  // time passes on the leader's clock: wait until 3 s of the lease are gone there
  await waitFor('the lease TTL to go down to 26 s on the leader', async () =>
    (await call(c.lease.leaseTimeToLive.bind(c.lease), P.LeaseTimeToLiveRequest.fromPartial({ ID }))).TTL <= 26n, 15_000, 100);
  if (leaseCheckpoint) {
    // a follower learned a remaining TTL from a checkpoint
    const seen = cluster.member(follower)!.server.lessor.lookup(ID)!.remainingTtlSeconds;
    assert.ok(seen > 0 && seen <= 28, `checkpointed remaining TTL on a follower: ${seen}`);
  } else {
    assert.equal(cluster.member(follower)!.server.lessor.lookup(ID)!.remainingTtlSeconds, 0);
  }
  await cluster.kill(lead);
  const next = await cluster.leader();
  const c2 = connect(t, cluster.endpoints[next]);
  return (await call(c2.lease.leaseTimeToLive.bind(c2.lease), P.LeaseTimeToLiveRequest.fromPartial({ ID }))).TTL;
}

test('lease checkpoints: a new leader continues the remaining TTL', async (t) => {
  const ttl = await ttlAfterFailover(t, true);
  assert.ok(ttl <= 28n, `TTL after failover ${ttl}`);
});

test('without lease checkpoints a new leader restarts the full TTL (etcd 3.4 default)', async (t) => {
  const ttl = await ttlAfterFailover(t, false);
  assert.ok(ttl >= 29n, `TTL after failover ${ttl}`);
});
