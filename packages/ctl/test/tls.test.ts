// TLS flags against a real etcd serving https: --cacert, --insecure-skip-tls-verify, mutual TLS
// with --cert/--key, and the errors of bad TLS settings, compared with the real etcdctl.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, run, runInProcess } from './twin-etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

function openssl(cwd: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate. */
function makeCerts(dir: string): void {
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tsetcdctl-test-ca']);
  for (const name of ['server', 'client']) {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name === 'client' ? 'root' : 'localhost'}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', 'san.cnf']);
  }
}

test('TLS flags match etcdctl on an https etcd with client certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcdctl-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  makeCerts(dir);
  const clientPort = await freePort();
  const peerPort = await freePort();
  const etcd = spawn('etcd', [
    '--name', 'tls', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', `https://127.0.0.1:${clientPort}`, '--advertise-client-urls', `https://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `tls=http://127.0.0.1:${peerPort}`,
    '--cert-file', join(dir, 'server.pem'), '--key-file', join(dir, 'server-key.pem'),
    '--client-cert-auth', '--trusted-ca-file', join(dir, 'ca.pem'),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  etcd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  t.after(async () => {
    if (etcd.exitCode === null) {
      const exited = new Promise((res) => etcd.once('exit', res));
      etcd.kill('SIGKILL');
      await exited;
    }
  });
  const ep = `https://127.0.0.1:${clientPort}`;
  const tlsArgs = ['--endpoints', ep, '--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-key.pem')];
  // ready when etcd logs that it serves clients
  await waitFor('etcd with TLS to serve clients', () => {
    assert.equal(etcd.exitCode, null, `etcd exited:\n${log}`);
    return log.includes('ready to serve client requests');
  }, 30_000);
  const put = await run('etcdctl', [...tlsArgs, 'put', 'foo', 'over tls']);
  assert.equal(put.code, 0, put.stderr);

  const cases: string[][] = [
    [...tlsArgs, 'get', 'foo', '-w', 'json'],
    [...tlsArgs, 'member', 'list', '-w', 'table'],
    ['--endpoints', `127.0.0.1:${clientPort}`, '--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-key.pem'), 'get', 'foo'],
    ['--endpoints', ep, '--insecure-skip-tls-verify', '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-key.pem'), 'get', 'foo'],
    ['--endpoints', ep, '--cert', '', 'get', 'foo'],
    ['--endpoints', ep, '--cacert=', 'get', 'foo'],
    // No client certificate: the server refuses the handshake; both give up at the deadline.
    ['--endpoints', ep, '--cacert', join(dir, 'ca.pem'), '--command-timeout=1s', 'get', 'foo'],
  ];
  for (const args of cases) {
    const [real, ours] = await Promise.all([run('etcdctl', args), runInProcess(args)]);
    const clean = (s: string) => s.split('\n').filter((l) => !l.startsWith('{"level":')).join('\n');
    assert.deepEqual({ ...ours, stderr: clean(ours.stderr) }, { ...real, stderr: clean(real.stderr) }, args.join(' '));
  }
});
