// --discovery: three tsetcd members bootstrap through etcd's v2 discovery protocol, served by a
// real etcd 3.4.23 started with --enable-v2 (the same way etcd members would).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInitialCluster, parseInitialCluster } from '@tsetcd/server/membership/initial-cluster';
import { ProcessCluster } from './kit/cluster.js';
import { freePort } from './kit/real-etcd.js';

test('three members bootstrap through a v2 discovery URL served by real etcd', async (t) => {
  const disco = await ProcessCluster.create(t, { bin: 'etcd', args: ['--enable-v2'] });
  await disco.addSpec('disco');
  await disco.startMember(0, 'new');
  const durl = `${disco.clientUrl(0)}/v2/keys/_etcd/registry/tok-${await freePort()}`;
  const put = await fetch(`${durl}/_config/size`, { method: 'PUT', body: 'value=3', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(put.status, 201);

  const c = await ProcessCluster.create(t);
  for (let i = 0; i < 3; i++) await c.addSpec();
  await Promise.all([0, 1, 2].map((i) => c.startMember(i, 'new', '', ['--discovery', durl])));
  const lead = await c.leader();
  assert.ok(lead >= 0);
  const list = await c.client([0, 1, 2]).cluster.memberList();
  // the discovery URL is the cluster token, as in etcd
  const want = newInitialCluster(parseInitialCluster(c.initialCluster()), durl);
  assert.deepEqual(list.members.map((m) => m.ID).sort((a, b) => (a < b ? -1 : 1)), want.members.map((m) => m.id));
  assert.equal(list.header.clusterId, want.clusterId);
  await c.client(0).put('via', 'discovery');
  assert.equal((await c.client(2).get('via')).kvs[0]?.value.toString(), 'discovery');

  // a fourth member finds the cluster full
  await c.addSpec();
  await assert.rejects(c.startMember(3, 'new', '', ['--discovery', durl]), /discovery: cluster is full/);
});

test('--discovery-proxy carries the discovery traffic; --discovery-fallback on a full cluster', async (t) => {
  const disco = await ProcessCluster.create(t, { bin: 'etcd', args: ['--enable-v2'] });
  await disco.addSpec('disco');
  await disco.startMember(0, 'new');
  const durl = `${disco.clientUrl(0)}/v2/keys/_etcd/registry/tok-${await freePort()}`;
  await fetch(`${durl}/_config/size`, { method: 'PUT', body: 'value=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  // a forward proxy: absolute-URI requests are relayed and recorded
  const seen: string[] = [];
  const http = await import('node:http');
  const proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const up = http.request(req.url!, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => proxy.close(() => r())));
  const proxyAddr = `127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`;

  const c = await ProcessCluster.create(t);
  await c.addSpec();
  // (no scheme: etcd reads it as http://)
  await c.startMember(0, 'new', '', ['--discovery', durl, '--discovery-proxy', proxyAddr]);
  assert.ok(seen.some((s) => s === `GET ${durl}/_config/size`), seen.join('\n'));
  assert.ok(seen.some((s) => s.startsWith(`PUT ${durl}/`)), seen.join('\n'));

  // the cluster of one is full: the default fallback (proxy) names why tsetcd cannot
  await c.addSpec();
  await assert.rejects(c.startMember(1, 'new', '', ['--discovery', durl]), /exited \(1\)/);
  assert.ok(c.members[1].logs.some((l) => l.includes('"discovery cluster is full, falling back to proxy"')));
  assert.ok(c.members[1].logs.some((l) => l.includes("--discovery-fallback=proxy would start etcd's v2 proxy, which tsetcd does not implement")));
  c.members[1].logs.length = 0;
  await assert.rejects(c.startMember(1, 'new', '', ['--discovery', durl, '--discovery-fallback', 'exit']), /discovery: cluster is full/);
  assert.ok(!c.members[1].logs.some((l) => l.includes('falling back to proxy')));
});
