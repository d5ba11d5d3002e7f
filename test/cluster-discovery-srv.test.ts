// --discovery-srv / --discovery-srv-name: members bootstrap from DNS SRV records served by a
// DNS server the test runs on loopback (tsetcd's resolver is pointed at it with TSETCD_DNS_SERVER).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from '../packages/server/test/grpc-test-kit.js';
import { ProcessCluster } from './kit/cluster.js';
import { DnsTestServer } from './dns-test-server.js';

async function withDns(t: import('node:test').TestContext): Promise<DnsTestServer> {
  const dns = new DnsTestServer();
  const addr = await dns.start();
  const before = process.env.TSETCD_DNS_SERVER;
  process.env.TSETCD_DNS_SERVER = addr; // inherited by the members spawned below
  t.after(async () => {
    if (before === undefined) delete process.env.TSETCD_DNS_SERVER;
    else process.env.TSETCD_DNS_SERVER = before;
    await dns.close();
  });
  return dns;
}

test('--discovery-srv with --discovery-srv-name: a 3-member TLS cluster bootstraps from _etcd-server-ssl-<name>._tcp', async (t) => {
  const dns = await withDns(t);
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const c = await ProcessCluster.create(t, { peerTls: { certFile: join(pki.dir, 'peer.crt'), keyFile: join(pki.dir, 'peer.key'), caFile: join(pki.dir, 'ca.crt') } });
  for (let i = 0; i < 3; i++) await c.addSpec();
  dns.srv.set('_etcd-server-ssl-prod._tcp.example.test', c.members.map((m) => ({ target: '127.0.0.1', port: m.advertisedPeerPort })));
  await Promise.all([0, 1, 2].map((i) => c.startMember(i, 'new', '', ['--discovery-srv', 'example.test', '--discovery-srv-name', 'prod', '--initial-cluster-token', 'srv-token'])));
  assert.ok(dns.queries.includes('_etcd-server-ssl-prod._tcp.example.test/33'));
  assert.ok(c.members[0].logs.some((l) => l.includes('"got bootstrap from DNS for etcd-server"')));
  const cli = c.client(0);
  await cli.put('srv', 'ok');
  assert.equal((await c.client(2).get('srv')).kvs[0].value.toString(), 'ok');
  const list = await cli.cluster.memberList();
  assert.deepEqual(list.members.map((m) => m.name).sort(), ['etcd01', 'etcd02', 'etcd03']);
  assert.deepEqual(list.members.map((m) => m.peerURLs[0]).sort(), c.members.map((_, i) => c.peerUrl(i)).sort());
});

test('--discovery-srv: refusals with etcd 3.4.23\'s messages', async (t) => {
  const dns = await withDns(t);
  const c = await ProcessCluster.create(t);
  await c.addSpec();
  // etcd 3.4.23 bootstraps from the -ssl records only: plain _etcd-server records are not enough
  dns.srv.set('_etcd-server._tcp.example.test', [{ target: '127.0.0.1', port: c.members[0].advertisedPeerPort }]);
  await assert.rejects(c.startMember(0, 'new', '', ['--discovery-srv', 'example.test']), /exited \(1\)/);
  assert.ok(c.members[0].logs.some((l) => l.includes('error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.example.test: no such host')), c.members[0].logs.slice(-5).join('\n'));

  // records that do not name this member
  dns.srv.set('_etcd-server-ssl._tcp.example.test', [{ target: '127.0.0.1', port: 1 }]);
  c.members[0].logs.length = 0;
  await assert.rejects(c.startMember(0, 'new', '', ['--discovery-srv', 'example.test']), /exited \(1\)/);
  assert.ok(c.members[0].logs.some((l) => l.includes('cannot find local etcd member \\"etcd01\\" in SRV records')), c.members[0].logs.slice(-5).join('\n'));

  // with --initial-cluster as well
  c.members[0].logs.length = 0;
  await assert.rejects(c.startMember(0, 'new', undefined, ['--discovery-srv', 'example.test']), /exited \(2\)/);
  assert.ok(c.members[0].logs.some((l) => l.includes('multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"')));
});
