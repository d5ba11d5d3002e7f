import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, etcdTarget, targetBin } from '../../../test/kit/cluster.js';
import { waitFor } from '../../../test/kit/wait.js';
import { Client, LeaseLostError, LeaseNotFoundError, type KeepAliveResponse } from '../src/index.js';


test('leases against a real server', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { size: 1, bin: targetBin });
  const client = new Client({ endpoints: cluster.endpoints });
  t.after(() => client.close());

  await t.test('grant, timeToLive with keys, leases, revoke', async () => {
    const l = await client.lease.grant(30);
    assert.equal(typeof l.id, 'bigint');
    assert.equal(l.ttl, 30n);
    await client.put('/lease/a', '1', { lease: l.id });
    await client.put('/lease/b', '2', { lease: l.id });
    const ttl = await client.lease.timeToLive(l.id, { keys: true });
    assert.equal(ttl.grantedTtl, 30n);
    assert.ok(ttl.ttl > 0n && ttl.ttl <= 30n);
    assert.deepEqual(ttl.keys.map((k) => k.toString()).sort(), ['/lease/a', '/lease/b']);
    assert.ok((await client.lease.leases()).leases.includes(l.id));
    const chosen = await client.lease.grant(10, { id: 0x1234n });
    assert.equal(chosen.id, 0x1234n);
    await client.lease.revoke(l.id);
    await client.lease.revoke(chosen.id);
    assert.equal((await client.get('/lease/', { prefix: true })).count, 0n);
    assert.equal((await client.lease.timeToLive(l.id)).ttl, -1n);
    await assert.rejects(client.lease.revoke(l.id), LeaseNotFoundError);
    assert.ok(!(await client.lease.leases()).leases.includes(l.id));
  });

  await t.test('keepAlive keeps a 2 s lease alive well past its TTL, on one shared stream', async () => {
    const granted = Date.now();
    const a = await client.lease.grant(2);
    const b = await client.lease.grant(2);
    await client.put('/ka/a', 'x', { lease: a.id });
    const kaA = client.lease.keepAlive(a.id);
    const kaB = client.lease.keepAlive(b.id);
    const seen: KeepAliveResponse[] = [];
    kaA.on('keepalive', (r) => seen.push(r));
    // 2 s TTL refreshed every TTL/3 (~667 ms): the fifth refresh comes well past the TTL, and
    // the lease must still be alive then (refreshing too slowly would lose it, too fast come early)
    await waitFor('5 keep-alive refreshes', () => seen.length >= 5, 15_000);
    assert.ok(Date.now() - granted > 2_000, `5 refreshes within ${Date.now() - granted} ms: faster than TTL/3`);
    assert.ok(seen.every((r) => r.id === a.id && r.ttl === 2n));
    assert.equal((await client.get('/ka/a')).count, 1n);
    assert.ok((await client.lease.timeToLive(b.id)).ttl > 0n);
    if (etcdTarget === 'etcd') {
      const text = await (await fetch(`${cluster.endpoints[0]}/metrics`)).text();
      const streams = text.split('\n').filter((l) => l.startsWith('grpc_server_started_total{grpc_method="LeaseKeepAlive"'));
      assert.equal(streams.length, 1);
      assert.equal(Number(streams[0].split(' ')[1]), 1, 'both leases on one LeaseKeepAlive stream');
    }
    kaA.stop();
    kaB.stop();
    assert.equal(kaA.isActive, false);
    await client.lease.revoke(a.id);
    await client.lease.revoke(b.id);
  });

  await t.test('loss is reported through the event, the promise and the iterator', async () => {
    const l = await client.lease.grant(3);
    let fromCallback: LeaseLostError | undefined;
    const ka = client.lease.keepAlive(l.id, { onLost: (e) => (fromCallback = e) });
    const evt = new Promise<LeaseLostError>((res) => ka.once('lost', res));
    const iterated = (async () => {
      let n = 0;
      for await (const _ of ka) n++;
      return n;
    })().then(
      () => assert.fail('iterator must throw'),
      (e: unknown) => e,
    );
    await new Promise((r) => ka.once('keepalive', r)); // kept alive once, then lost
    await client.lease.revoke(l.id);
    const [fromEvent, fromPromise, fromIterator] = await Promise.all([evt, ka.lost, iterated]);
    assert.ok(fromEvent instanceof LeaseLostError);
    assert.equal(fromEvent.leaseId, l.id);
    assert.equal(fromPromise, fromEvent);
    assert.equal(fromIterator, fromEvent);
    assert.equal(fromCallback, fromEvent);
    assert.equal(fromEvent.code, 'ETCD_ERR_LEASE_LOST');
  });

  await t.test('keepAliveOnce', async () => {
    const l = await client.lease.grant(5);
    const r = await client.lease.keepAliveOnce(l.id);
    assert.equal(r.id, l.id);
    assert.equal(r.ttl, 5n);
    await client.lease.revoke(l.id);
    await assert.rejects(client.lease.keepAliveOnce(l.id), LeaseLostError);
  });
});
