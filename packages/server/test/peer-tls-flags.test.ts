// The peer TLS flags on real members: --peer-auto-tls (a cluster over self-signed peer
// certificates), --peer-cert-allowed-cn / --peer-cert-allowed-hostname (a member whose
// certificate does not match is kept out, the other two make a quorum, refusals are logged as
// etcd's "rejected connection"), --peer-crl-file, and the peer listener's SAN check
// (--experimental-peer-skip-client-san-verification).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type Member, type StartServerOptions } from '../src/embed/index.js';
import { sanError } from '../src/tls/cert-checks.js';
import { tempDir } from './server-helpers.js';
import { freePort } from './auth-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';
import { captureLog, makeCa } from './tls-test-kit.js';

interface Started { member: Member; log: ReturnType<typeof captureLog>; dataDir: string }

/** Members e0..eN-1 on https peer URLs, each with its own extra options; closed by t.after. */
async function startCluster(t: Parameters<typeof tempDir>[0], perMember: StartServerOptions[], host = '127.0.0.1'): Promise<Started[]> {
  const ports = await Promise.all(perMember.map(() => freePort()));
  const urls = ports.map((p) => `https://${host}:${p}`);
  const initialCluster = urls.map((u, i) => `e${i}=${u}`).join(',');
  const root = await tempDir(t);
  const out: Started[] = [];
  for (const [i, extra] of perMember.entries()) {
    const log = captureLog();
    const dataDir = join(root, `e${i}`);
    const member = await startServer({
      name: `e${i}`, dataDir, listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: [urls[i]], initialAdvertisePeerUrls: [urls[i]],
      initialCluster, initialClusterToken: 'tls-test', heartbeatIntervalMs: 50, electionTimeoutMs: 500, logger: log, ...extra,
    });
    member.ready.catch(() => undefined);
    t.after(() => member.close());
    out.push({ member, log, dataDir });
  }
  return out;
}

const rejected = (log: ReturnType<typeof captureLog>, error: string | RegExp): boolean =>
  log.lines.some((l) => l.msg === 'rejected connection' && (typeof error === 'string' ? l.fields.error === error : error.test(String(l.fields.error))));

test('--peer-auto-tls: members talk over self-signed peer certificates written to <data-dir>/fixtures/peer', async (t) => {
  const [a, b] = await startCluster(t, [{ peerAutoTls: true }, { peerAutoTls: true }]);
  await Promise.all([a.member.ready, b.member.ready]);
  const cert = new X509Certificate(readFileSync(join(a.dataDir, 'fixtures', 'peer', 'cert.pem')));
  assert.equal(cert.subject, 'O=etcd');
  assert.equal(cert.subjectAltName, 'IP Address:127.0.0.1');
  assert.equal(a.member.server.cluster.size, 2);
});

test('--peer-cert-allowed-cn: the member whose certificate has another CN is refused both ways (bad_certificate alert); the others make a quorum', async (t) => {
  const ca = makeCa(t);
  const ok = ca.issue('ok', { cn: 'peer.ok', san: 'IP:127.0.0.1' });
  const bad = ca.issue('bad', { cn: 'peer.bad', san: 'IP:127.0.0.1' });
  const tls = (l: typeof ok, cn: string): StartServerOptions => ({
    peerCertFile: l.cert, peerKeyFile: l.key, peerTrustedCaFile: ca.ca, peerClientCertAuth: true, peerCertAllowedCn: cn,
  });
  const [e0, e1, e2] = await startCluster(t, [tls(ok, 'peer.ok'), tls(ok, 'peer.ok'), tls(bad, 'peer.bad')]);
  await Promise.all([e0.member.ready, e1.member.ready]);
  // each side refuses the certificate the other shows: e0/e1 when they dial e2, e2 when it dials them
  const dialRefused = (x: Started): boolean => x.log.lines.some((l) => l.msg === 'failed to dial remote peer' && l.fields.error === 'client certificate authentication failed');
  await waitFor('the dials refused', () => dialRefused(e2) && (dialRefused(e0) || dialRefused(e1)), 10_000);
  // a refused certificate is answered with a TLS alert, as Go does, so the refused side sees why
  await waitFor('the bad-certificate rejection logged', () => rejected(e2.log, 'remote error: tls: bad certificate'), 10_000);
  assert.equal(e0.member.server.cluster.size, 3);
});

test('--peer-cert-allowed-hostname: a peer certificate without that name is refused', async (t) => {
  const ca = makeCa(t);
  const ok = ca.issue('ok', { cn: 'x', san: 'IP:127.0.0.1,DNS:peer.ok' });
  const other = ca.issue('other', { cn: 'peer.ok', san: 'IP:127.0.0.1,DNS:peer.other' });
  const tls = (l: typeof ok, host: string): StartServerOptions => ({
    peerCertFile: l.cert, peerKeyFile: l.key, peerTrustedCaFile: ca.ca, peerClientCertAuth: true, peerCertAllowedHostname: host,
  });
  const [e0, e1, e2] = await startCluster(t, [tls(ok, 'peer.ok'), tls(ok, 'peer.ok'), tls(other, 'peer.other')]);
  await Promise.all([e0.member.ready, e1.member.ready]);
  await waitFor('the failed dial logged', () => e2.log.lines.some((l) => l.msg === 'failed to dial remote peer' && l.fields.error === 'client certificate authentication failed'), 10_000);

  // both at once: refused at start with etcd's message
  await assert.rejects(
    startServer({ dataDir: join(await tempDir(t), 'x'), peerCertFile: ok.cert, peerKeyFile: ok.key, peerCertAllowedCn: 'a', peerCertAllowedHostname: 'b', listenPeerUrls: ['https://127.0.0.1:0'], initialCluster: 'default=https://127.0.0.1:1', initialAdvertisePeerUrls: ['https://127.0.0.1:1'] }),
    { message: 'AllowedCN and AllowedHostname are mutually exclusive (cn="a", hostname="b")' },
  );
});

test('--peer-crl-file: a member whose peer certificate is revoked is refused', async (t) => {
  const ca = makeCa(t);
  const good = ca.issue('good', { cn: 'good', san: 'IP:127.0.0.1' });
  const revoked = ca.issue('revoked', { cn: 'revoked', san: 'IP:127.0.0.1' });
  const crl = ca.crl('peers', [revoked]);
  const tls = (l: typeof good): StartServerOptions => ({ peerCertFile: l.cert, peerKeyFile: l.key, peerTrustedCaFile: ca.ca, peerClientCertAuth: true, peerCrlFile: crl });
  const [e0, e1, e2] = await startCluster(t, [tls(good), tls(good), tls(revoked)]);
  await Promise.all([e0.member.ready, e1.member.ready]);
  const serial = revoked.serial.toLowerCase().replace(/^(00)+/, '');
  await waitFor('the "revoked" rejection logged', () => rejected(e0.log, `transport: certificate serial ${serial} revoked`) || rejected(e1.log, `transport: certificate serial ${serial} revoked`), 10_000);
  const line = [...e0.log.lines, ...e1.log.lines].find((l) => l.msg === 'rejected connection')!;
  assert.deepEqual(line.fields['ip-addresses'], ['127.0.0.1']);
  assert.match(String(line.fields['remote-addr']), /^127\.0\.0\.1:\d+$/);
});

test('peer listener SAN check: a client certificate must name the connecting address (etcd\'s messages)', async (t) => {
  const ca = makeCa(t);
  const ipOnly = new X509Certificate(readFileSync(ca.issue('ip', { cn: 'x', san: 'IP:10.9.9.9' }).cert));
  assert.equal(await sanError(ipOnly, '127.0.0.1'), 'x509: certificate is valid for 10.9.9.9, not 127.0.0.1');
  assert.equal(await sanError(ipOnly, '::ffff:10.9.9.9'), undefined);
  const dns = new X509Certificate(readFileSync(ca.issue('dns', { cn: 'x', san: 'DNS:peer.invalid' }).cert));
  assert.match(String(await sanError(dns, '127.0.0.1')), /^tls: "127\.0\.0\.1" does not match any of DNSNames \["peer\.invalid"\]/);
  const local = new X509Certificate(readFileSync(ca.issue('local', { cn: 'x', san: 'DNS:localhost' }).cert));
  assert.equal(await sanError(local, '127.0.0.1'), undefined);
  const none = new X509Certificate(readFileSync(ca.issue('none', { cn: 'x' }).cert));
  assert.equal(await sanError(none, '127.0.0.1'), undefined);
});

test('--experimental-peer-skip-client-san-verification: members on 127.0.0.2 dial from 127.0.0.1, which their certificates do not name', async (t) => {
  const ca = makeCa(t);
  const cert = ca.issue('p2', { cn: 'p', san: 'IP:127.0.0.2' });
  const tls = (skip: boolean): StartServerOptions => ({
    peerCertFile: cert.cert, peerKeyFile: cert.key, peerTrustedCaFile: ca.ca, peerClientCertAuth: true, peerSkipClientSanVerification: skip,
  });
  const [a] = await startCluster(t, [tls(false), tls(false)], '127.0.0.2');
  await waitFor('the host-mismatch rejection logged', () => rejected(a.log, 'x509: certificate is valid for 127.0.0.2, not 127.0.0.1'), 10_000);
  const [c, d] = await startCluster(t, [tls(true), tls(true)], '127.0.0.2');
  await Promise.all([c.member.ready, d.member.ready]);
  assert.ok(!rejected(c.log, /./) && !rejected(d.log, /./));
});
