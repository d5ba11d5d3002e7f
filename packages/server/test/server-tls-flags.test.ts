// The client-side TLS flags, driven through real clients: --auto-tls (etcdctl with
// --insecure-skip-tls-verify, certificates in the data dir, reused on restart), --cipher-suites,
// --client-crl-file and --client-cert-allowed-hostname (refusals logged as etcd's
// "rejected connection"), --listen-metrics-urls over TLS, and certificate files replaced while
// serving.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as https from 'node:https';
import { startServer } from '../src/embed/index.js';
import { peerTlsServer } from '../src/rafthttp/peer-tls-server.js';
import { clientTlsOptions } from '../src/tls/tls-info.js';
import { startMember, tempDir } from './server-helpers.js';
import { freePort, run } from './auth-test-kit.js';
import { captureLog, makeCa } from './tls-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';

function ctl(ep: string, args: string[]): ReturnType<typeof run> {
  return run('etcdctl', ['--endpoints', ep, '--dial-timeout=3s', '--command-timeout=3s', ...args]);
}

/** The TLS handshake's outcome: the negotiated cipher, or the error code. */
function handshake(port: number, o: tls.ConnectionOptions): Promise<{ cipher?: string; error?: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], ...o });
    s.once('secureConnect', () => {
      resolve({ cipher: s.getCipher().name });
      s.destroy();
    });
    s.once('error', (e: Error & { code?: string }) => resolve({ error: e.code ?? e.message }));
  });
}

test('--auto-tls: self-signed certificate in <data-dir>/fixtures/client, etcdctl over https with --insecure-skip-tls-verify, same certificate after restart', async (t) => {
  const dataDir = join(await tempDir(t), 'member');
  const log = captureLog();
  const opts = { dataDir, autoTls: true, listenClientUrls: ['https://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200, logger: log };
  const m1 = await startServer(opts);
  await m1.ready;
  const ep = m1.clientUrls[0];
  assert.match(ep, /^https:\/\/127\.0\.0\.1:\d+$/);
  const certPem = readFileSync(join(dataDir, 'fixtures', 'client', 'cert.pem'));
  const keyPem = readFileSync(join(dataDir, 'fixtures', 'client', 'key.pem'), 'utf8');
  assert.match(keyPem, /^-----BEGIN EC PRIVATE KEY-----/);
  const cert = new X509Certificate(certPem);
  // as etcd's SelfCert: O=etcd, ECDSA P-521, a year, serverAuth, the listen host as SAN, not a CA
  assert.equal(cert.subject, 'O=etcd');
  assert.equal(cert.issuer, 'O=etcd');
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'secp521r1');
  assert.equal(cert.subjectAltName, 'IP Address:127.0.0.1');
  assert.equal(cert.ca, false);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
  assert.ok(days > 364.9 && days < 365.1, `valid ${days} days`);
  assert.ok(log.lines.some((l) => l.msg === 'created cert file'));

  const put = await ctl(ep, ['--insecure-transport=false', '--insecure-skip-tls-verify', 'put', 'foo', 'bar']);
  assert.equal(put.stdout.trim(), 'OK', put.stderr);
  // a verifying client does not trust a self-signed certificate
  const strict = await ctl(ep, ['--insecure-transport=false', 'get', 'foo']);
  assert.notEqual(strict.code, 0);
  await m1.close();

  const log2 = captureLog();
  const m2 = await startServer({ ...opts, logger: log2 });
  t.after(() => m2.close());
  await m2.ready;
  assert.deepEqual(readFileSync(join(dataDir, 'fixtures', 'client', 'cert.pem')), certPem, 'the certificate is reused');
  assert.ok(!log2.lines.some((l) => l.msg === 'created cert file'));
  const get = await ctl(m2.clientUrls[0], ['--insecure-transport=false', '--insecure-skip-tls-verify', 'get', 'foo', '--print-value-only']);
  assert.equal(get.stdout.trim(), 'bar', get.stderr);
});

test('--auto-tls with --cert-file given: the files win ("ignoring client auto TLS since certs given")', async (t) => {
  const ca = makeCa(t);
  const server = ca.issue('server', { cn: 'server', san: 'IP:127.0.0.1' });
  const log = captureLog();
  const m = await startMember(t, { autoTls: true, certFile: server.cert, keyFile: server.key, listenClientUrls: ['https://127.0.0.1:0'], logger: log });
  assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg === 'ignoring client auto TLS since certs given'));
  const r = await ctl(m.clientUrls[0], ['--cacert', ca.ca, 'put', 'k', 'v']);
  assert.equal(r.stdout.trim(), 'OK', r.stderr);
});

test('--cipher-suites: a TLS 1.2 client offering only another suite fails the handshake; unknown names are refused', async (t) => {
  const ca = makeCa(t);
  const server = ca.issue('server', { cn: 'server', san: 'IP:127.0.0.1' });
  const m = await startMember(t, {
    certFile: server.cert, keyFile: server.key, listenClientUrls: ['https://127.0.0.1:0'],
    cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  });
  const port = Number(new URL(m.clientUrls[0]).port);
  assert.deepEqual(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), { cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  const refused = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
  assert.equal(refused.error, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
  // as in Go, TLS 1.3 suites are not restricted
  assert.ok((await handshake(port, {})).cipher?.startsWith('TLS_'));
  // and the real etcdctl still works
  const r = await ctl(m.clientUrls[0], ['--cacert', ca.ca, 'put', 'k', 'v']);
  assert.equal(r.stdout.trim(), 'OK', r.stderr);

  await assert.rejects(
    startServer({ dataDir: join(await tempDir(t), 'd'), certFile: server.cert, keyFile: server.key, listenClientUrls: ['https://127.0.0.1:0'], cipherSuites: ['TLS_BOGUS'] }),
    { message: 'unexpected TLS cipher suite "TLS_BOGUS"' },
  );
});

test('--client-crl-file: a revoked client certificate is refused and logged; another one is served', async (t) => {
  const ca = makeCa(t);
  const server = ca.issue('server', { cn: 'server', san: 'IP:127.0.0.1' });
  const good = ca.issue('good', { cn: 'good', usage: 'clientAuth' });
  const revoked = ca.issue('revoked', { cn: 'revoked', usage: 'clientAuth' });
  const crl = ca.crl('revoke', [revoked]);
  const log = captureLog();
  const m = await startMember(t, {
    certFile: server.cert, keyFile: server.key, trustedCaFile: ca.ca, clientCertAuth: true, clientCrlFile: crl,
    listenClientUrls: ['https://127.0.0.1:0'], logger: log,
  });
  const ep = m.clientUrls[0];
  const bad = await ctl(ep, ['--cacert', ca.ca, '--cert', revoked.cert, '--key', revoked.key, 'put', 'k', 'v']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Error:/);
  const serial = revoked.serial.toLowerCase().replace(/^(00)+/, '');
  await waitFor('the "revoked" rejection logged', () => log.lines.some((l) => l.msg === 'rejected connection' && l.fields.error === `transport: certificate serial ${serial} revoked`));
  const ok = await ctl(ep, ['--cacert', ca.ca, '--cert', good.cert, '--key', good.key, 'put', 'k', 'v']);
  assert.equal(ok.stdout.trim(), 'OK', ok.stderr);
});

test('--client-cert-allowed-hostname: a client certificate without that name is refused with etcd\'s message', async (t) => {
  const ca = makeCa(t);
  const server = ca.issue('server', { cn: 'server', san: 'IP:127.0.0.1' });
  const allowed = ca.issue('allowed', { cn: 'a', san: 'DNS:allowed.example', usage: 'clientAuth' });
  const other = ca.issue('other', { cn: 'allowed.example', san: 'DNS:other.example', usage: 'clientAuth' });
  const log = captureLog();
  const m = await startMember(t, {
    certFile: server.cert, keyFile: server.key, trustedCaFile: ca.ca, clientCertAuth: true, clientCertAllowedHostname: 'allowed.example',
    listenClientUrls: ['https://127.0.0.1:0'], logger: log,
  });
  const ep = m.clientUrls[0];
  const bad = await ctl(ep, ['--cacert', ca.ca, '--cert', other.cert, '--key', other.key, 'put', 'k', 'v']);
  assert.notEqual(bad.code, 0);
  await waitFor('the client-certificate rejection logged', () => log.lines.some((l) => l.msg === 'rejected connection' && l.fields.error === 'client certificate authentication failed'));
  const line = log.lines.find((l) => l.msg === 'rejected connection')!;
  assert.deepEqual(line.fields['dns-names'], ['other.example']);
  const ok = await ctl(ep, ['--cacert', ca.ca, '--cert', allowed.cert, '--key', allowed.key, 'put', 'k', 'v']);
  assert.equal(ok.stdout.trim(), 'OK', ok.stderr);
  // no certificate at all: refused too (a trusted CA makes etcd require one)
  const none = await ctl(ep, ['--cacert', ca.ca, 'put', 'k', 'v']);
  assert.notEqual(none.code, 0);
});

test('--listen-metrics-urls over https: /metrics and /health with the client TLS settings, nothing else', async (t) => {
  const p = await freePort();
  await startMember(t, { autoTls: true, listenClientUrls: ['https://127.0.0.1:0'], listenMetricsUrls: [`https://localhost:${p}`] });
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: p, path, rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  const metrics = await get('/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /etcd_server_version\{server_version="3\.4\.23"\} 1/);
  assert.deepEqual(await get('/health'), { status: 200, body: '{"health":"true"}' });
  assert.deepEqual(await get('/version'), { status: 404, body: '404 page not found\n' });
  // plaintext is not served on an https metrics URL
  const plain = await fetch(`http://127.0.0.1:${p}/metrics`).then(() => 'served', () => 'refused');
  assert.equal(plain, 'refused');
});

test('certificate files replaced while serving take effect from the next handshake (client port and peer listener), as etcd reads them per handshake', async (t) => {
  const ca = makeCa(t);
  const first = ca.issue('first', { cn: 'first', san: 'IP:127.0.0.1' });
  const second = ca.issue('second', { cn: 'second', san: 'IP:127.0.0.1' });
  const other = ca.issue('other', { cn: 'other', san: 'IP:127.0.0.1' });
  const dir = await tempDir(t);
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const install = (l: { cert: string; key: string }): void => {
    copyFileSync(l.cert, certFile);
    copyFileSync(l.key, keyFile);
  };
  install(first);
  const servedCn = (port: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca.ca), ALPNProtocols: ['http/1.1'] }, () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.destroy();
      });
      s.once('error', reject);
    });

  const log = captureLog();
  const m = await startMember(t, { certFile, keyFile, listenClientUrls: ['https://127.0.0.1:0'], logger: log });
  const clientPort = Number(new URL(m.clientUrls[0]).port);
  const srv = peerTlsServer({ certFile, keyFile }, (_req, res) => res.end(), log);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  const peerPort = (srv.address() as AddressInfo).port;

  assert.equal(await servedCn(clientPort), 'first');
  assert.equal(await servedCn(peerPort), 'first');
  install(second);
  assert.equal(await servedCn(clientPort), 'second');
  assert.equal(await servedCn(peerPort), 'second');
  // a certificate that does not go with the key keeps the pair in use, with etcd's warning
  copyFileSync(other.cert, certFile);
  assert.equal(await servedCn(clientPort), 'second');
  assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg === 'failed to create peer certificate' && l.fields['cert-file'] === certFile));

  // the dialing side too: a peer listener that admits only CN "second" sees the replaced client certificate
  install(first);
  const strict = peerTlsServer({ certFile: second.cert, keyFile: second.key, trustedCaFile: ca.ca, clientCertAuth: true, allowedCn: 'second' }, (_req, res) => res.end('in'));
  await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => strict.close(() => resolve())));
  const dial = clientTlsOptions({ certFile, keyFile, trustedCaFile: ca.ca });
  const get = (): Promise<string> =>
    new Promise((resolve) => {
      https.get({ host: '127.0.0.1', port: (strict.address() as AddressInfo).port, path: '/', ...dial, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      }).on('error', (e) => resolve(`refused: ${e.message}`));
    });
  assert.match(await get(), /^refused/);
  install(second);
  assert.equal(await get(), 'in');
});
