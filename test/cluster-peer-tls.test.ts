// A 3-member cluster whose peer URLs are HTTPS with --peer-client-cert-auth: members replicate,
// a follower's forwarded lease renewal reaches the leader with the peer certificate, and on top
// of TLS the peer checks still apply (a certificate from the cluster's CA does not make its holder
// a member). Outsiders without a certificate, or with one from another CA, are cut at the handshake.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { makePki } from '../packages/server/test/grpc-test-kit.js';
import { peerCall, isAnswer, payload, forgedProposal } from '../packages/server/test/peer-port-kit.js';
import { ProcessCluster } from './kit/cluster.js';

test('peer TLS with client certificate auth: replication, forwarded lease renewals, outsiders refused', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const c = await ProcessCluster.start(t, {
    peerTls: { certFile: join(pki.dir, 'peer.crt'), keyFile: join(pki.dir, 'peer.key'), caFile: join(pki.dir, 'ca.crt') },
    args: ['--peer-client-cert-auth'],
  });
  const lead = await c.leader();
  const f = [0, 1, 2].find((i) => i !== lead)!;
  const other = [0, 1, 2].find((i) => i !== lead && i !== f)!;

  // replication over the TLS streams
  await c.client(f).put('/tls/k', 'v');
  assert.equal((await c.client(other).get('/tls/k')).kvs[0]?.value.toString(), 'v');

  // a keep-alive through a follower is forwarded to the leader's /leases over peer TLS
  const { id } = await c.client(lead).lease.grant(60);
  const ka = await c.client(f).lease.keepAliveOnce(id);
  assert.ok(ka.ttl > 0n, `keep-alive through a follower renewed the lease (TTL ${ka.ttl})`);

  const url = `https://127.0.0.1:${c.members[lead].peerPort}`;
  const self = (await c.status(lead))!.id;
  const members = await peerCall(url, 'GET', '/members', {}, undefined, 10_000, { ca: pki.ca, cert: pki.peerCert, key: pki.peerKey });
  assert.ok(isAnswer(members) && members.status === 200);
  const cid = String(members.headers['x-etcd-cluster-id']);
  // no client certificate, or one from another CA: cut during the handshake
  const anon = await peerCall(url, 'GET', '/members', {}, undefined, 10_000, { ca: pki.ca });
  assert.ok(!isAnswer(anon), `no certificate: ${JSON.stringify(anon)}`);
  const intruder = await peerCall(url, 'POST', '/raft', { clusterId: cid, from: '1234', to: self.toString(16) }, payload(forgedProposal(0x1234n, self)), 10_000, { ca: pki.ca, cert: pki.otherCert, key: pki.otherKey });
  assert.ok(!isAnswer(intruder), `another CA: ${JSON.stringify(intruder)}`);
  // the cluster's CA, but not a member: the peer checks still refuse
  const holder = await peerCall(url, 'POST', '/raft', { clusterId: cid, from: '1234', to: self.toString(16) }, payload(forgedProposal(0x1234n, self)), 10_000, { ca: pki.ca, cert: pki.peerCert, key: pki.peerKey });
  assert.ok(isAnswer(holder));
  assert.deepEqual([holder.status, holder.body], [404, 'error sender not found\n']);
  const dial = await peerCall(url, 'GET', '/raft/stream/message/1234', { clusterId: cid, to: self.toString(16) }, undefined, 10_000, { ca: pki.ca, cert: pki.peerCert, key: pki.peerKey });
  assert.ok(isAnswer(dial));
  assert.deepEqual([dial.status, dial.body], [404, 'error sender not found\n']);
  assert.equal((await c.client(lead).get('injected')).kvs.length, 0);
});
