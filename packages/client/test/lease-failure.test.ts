import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import { Client, LeaseLostError } from '../src/index.js';

// keepAlive across server failures (a file of its own: it restarts and stops the server).
test('lease keepAlive across server failures', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { size: 1, bin: targetBin });
  const client = new Client({ endpoints: cluster.endpoints });
  t.after(() => client.close());

  await t.test('a server restart shorter than the TTL does not lose the lease', { timeout: 30_000 }, async () => {
    const l = await client.lease.grant(5);
    const ka = client.lease.keepAlive(l.id);
    let lost = false;
    ka.on('lost', () => (lost = true));
    await new Promise((r) => ka.once('keepalive', r));
    await cluster.restartMember(0);
    const before = ka.last;
    // Refreshed over the new connection (or lost, if the server took longer than the TTL).
    const outcome = await Promise.race([
      new Promise<string>((r) => ka.once('keepalive', () => r('refreshed'))),
      ka.lost.then(() => 'lost'),
    ]);
    assert.equal(outcome, 'refreshed');
    assert.notEqual(ka.last, before);
    assert.equal(lost, false);
    assert.ok((await client.lease.timeToLive(l.id)).ttl > 0n);
    ka.stop();
    await client.lease.revoke(l.id);
  });

  await t.test('loss is reported when the server stays away longer than the TTL', { timeout: 30_000 }, async () => {
    const other = new Client({ endpoints: cluster.endpoints, dialTimeout: 500 });
    t.after(() => other.close());
    const l = await other.lease.grant(2);
    const ka = other.lease.keepAlive(l.id);
    await new Promise((r) => ka.once('keepalive', r));
    await cluster.stopMember(0);
    const started = Date.now();
    const err = await ka.lost;
    assert.ok(err instanceof LeaseLostError);
    assert.ok(Date.now() - started < 3_500, 'reported within about one TTL');
    await cluster.startMember(0, 'existing');
    await cluster.waitReady();
    await other.close();
  });

});
