// Leases in a cluster: only the leader expires them; a follower forwards keep-alives to the
// leader; a lease outlives a leader crash (the new leader takes over with a fresh TTL) and then
// expires on the new leader once nobody keeps it alive, deleting its keys everywhere.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessCluster, electionMs } from './kit/cluster.js';
import { eventually } from './kit/wait.js';

test('leases: keep-alive through a follower, survive a leader crash, expire on the new leader', async (t) => {
  const c = await ProcessCluster.start(t);
  const lead = await c.leader();
  const f = [0, 1, 2].find((i) => i !== lead)!;
  const fc = c.client(f, 5000);
  const lease = await fc.lease.grant(3);
  await fc.put('leased', 'v', { lease: lease.id });

  // keep-alives sent to the follower reach the leader: one a second for three seconds, so the
  // lease (TTL 3 s) lives past its TTL only through them (the time is what is under test)
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    const ka = await fc.lease.keepAliveOnce(lease.id);
    assert.equal(ka.ttl, 3n);
  }
  assert.equal((await fc.get('leased')).kvs.length, 1, 'kept alive past its TTL');

  // the leader dies; the lease is still there under the new leader
  await c.stopMember(lead, 'SIGKILL');
  const newLead = await c.leader(20 * electionMs, [0, 1, 2].filter((i) => i !== lead));
  const ka = await eventually('keep-alive after fail-over', 10_000, async () => (await fc.lease.keepAliveOnce(lease.id)).ttl);
  assert.equal(ka, 3n);
  assert.equal((await c.client(newLead).get('leased')).kvs.length, 1);

  // nobody keeps it alive any more: the new leader revokes it and the key goes
  await eventually('lease expiry on the new leader', 15_000, async () => ((await fc.get('leased')).kvs.length === 0 ? true : undefined));
  const ttl = await fc.lease.timeToLive(lease.id);
  assert.equal(ttl.ttl, -1n);
});
