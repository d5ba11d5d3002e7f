// Client TLS: ./bin/tsetcd with --cert-file/--key-file/--trusted-ca-file/--client-cert-auth and
// http:// + https:// on the same port; the real etcdctl over both.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from '../packages/server/test/grpc-test-kit.js';
import { startTsetcd, tempDir } from './kit/tsetcd-process.js';
import { freePort } from './kit/real-etcd.js';
import { run } from './kit/processes.js';

const etcdctl = (args: string[]) => run('etcdctl', ['--command-timeout', '5s', '--dial-timeout', '3s', ...args], { timeoutMs: 20_000 });

test('TLS with client certificates, and plaintext on the same port', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const dir = await tempDir(t);
  const port = await freePort();
  const urls = `https://127.0.0.1:${port},http://127.0.0.1:${port}`;
  const srv = await startTsetcd(t, dir, [
    '--listen-client-urls', urls, '--advertise-client-urls', urls,
    '--cert-file', join(pki.dir, 'server.crt'), '--key-file', join(pki.dir, 'server.key'),
    '--trusted-ca-file', join(pki.dir, 'ca.crt'), '--client-cert-auth',
  ]);
  assert.ok(srv.logs.some((l) => l.includes('serving client traffic securely')));
  const ep = `https://127.0.0.1:${port}`;
  const tlsArgs = ['--endpoints', ep, '--cacert', join(pki.dir, 'ca.crt'), '--cert', join(pki.dir, 'client.crt'), '--key', join(pki.dir, 'client.key')];
  const put = await etcdctl([...tlsArgs, 'put', 'secure', 'yes']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal((await etcdctl([...tlsArgs, 'get', 'secure', '--print-value-only'])).stdout, 'yes\n');
  // without a client certificate the TLS handshake is refused
  const noCert = await etcdctl(['--endpoints', ep, '--cacert', join(pki.dir, 'ca.crt'), 'get', 'secure']);
  assert.notEqual(noCert.code, 0);
  // plaintext on the same port
  const plain = await etcdctl(['--endpoints', `127.0.0.1:${port}`, 'get', 'secure', '--print-value-only']);
  assert.equal(plain.stdout, 'yes\n', plain.stderr);
});
