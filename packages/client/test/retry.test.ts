import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { Client, UnavailableError } from '../src/index.js';

// Two proxies in front of the same etcd act as two endpoints. Cutting a connection right after a
// request went through shows whether the client resends it: it must for reads, never for writes.
test('retries only what is safe', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { size: 1, bin: targetBin });
  const port = Number(new URL(cluster.endpoints[0]).port);
  const a = await TcpProxy.start(port, '/cut/');
  const b = await TcpProxy.start(port, '/cut/');
  t.after(() => a.close());
  t.after(() => b.close());
  const client = new Client({ endpoints: [a.url, b.url], dialTimeout: 2_000 });
  t.after(() => client.close());
  const direct = new Client({ endpoints: cluster.endpoints });
  t.after(() => direct.close());

  await t.test('a read whose connection breaks after sending is retried and succeeds', async () => {
    await direct.put('/cut/read', 'value');
    await client.get('/warmup');
    a.seen = b.seen = 0;
    (client.activeEndpoint === a.url ? a : b).cutNext = true;
    const r = await client.get('/cut/read');
    assert.equal(r.kvs[0].value.toString(), 'value');
    assert.equal(a.seen + b.seen, 2, 'sent once, cut, sent again');
  });

  await t.test('a write whose connection breaks after sending is not resent', async () => {
    await client.get('/warmup');
    const active = client.activeEndpoint === a.url ? a : b;
    a.seen = b.seen = 0;
    active.cutNext = true;
    await assert.rejects(client.put('/cut/write', 'once'), UnavailableError);
    assert.equal(a.seen + b.seen, 1, 'the put went out exactly once');
    const v = await direct.get('/cut/write');
    assert.ok(v.count <= 1n);
    if (v.count === 1n) assert.equal(v.kvs[0].version, 1n, 'applied at most once');
    // The client itself recovers for the next call.
    await client.put('/cut/after', 'ok');
    assert.equal((await direct.get('/cut/after')).kvs[0].value.toString(), 'ok');
  });
});
