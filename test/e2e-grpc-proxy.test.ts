// `tsetcd grpc-proxy start`: the v3 API through the proxy with the real etcdctl (KV, watch,
// leases, members, auth), its own TLS, and etcd's certificate and cipher-suite checks.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from '../packages/server/test/grpc-test-kit.js';
import { startTsetcd, startTsetcdCommand, tempDir, tsetcdBin } from './kit/tsetcd-process.js';
import { freePort } from './kit/real-etcd.js';
import { eventually } from './kit/wait.js';
import { run } from './kit/processes.js';

const etcdctl = (args: string[]) => run('etcdctl', [...args], { timeoutMs: 30_000 });

/** Starts `tsetcd grpc-proxy start <args>` (in a temp dir) and resolves once it logged that it started. */
const startProxy = async (t: TestContext, args: string[]) => startTsetcdCommand(t, ['grpc-proxy', 'start', ...args], '"started gRPC proxy"', { cwd: await tempDir(t) });

function runProxy(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(tsetcdBin, ['grpc-proxy', 'start', ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, out: stdout + stderr }));
  });
}

test('grpc-proxy start: etcdctl through the proxy (KV, watch, lease, members, auth, /health)', async (t) => {
  const m = await startTsetcd(t, await tempDir(t));
  const listen = `127.0.0.1:${await freePort()}`;
  const metrics = `127.0.0.1:${await freePort()}`;
  await startProxy(t, [`--endpoints=http://${m.endpoint}`, '--listen-addr', listen, '--metrics-addr', `http://${metrics}`]);
  const ep = ['--endpoints', listen];
  assert.equal((await etcdctl([...ep, 'put', 'foo', 'bar'])).stdout.trim(), 'OK');
  assert.equal((await etcdctl([...ep, 'get', 'foo', '--print-value-only'])).stdout.trim(), 'bar');
  // a watch stream through the proxy sees a put made directly on the member
  const watch = spawn('etcdctl', [...ep, 'watch', 'w'], { env: { ...process.env, ETCDCTL_API: '3' } });
  t.after(() => watch.kill('SIGKILL'));
  let seen = '';
  watch.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  await eventually('the watch to deliver', 15_000, async () => {
    await etcdctl(['--endpoints', m.endpoint, 'put', 'w', 'v1']);
    return seen.includes('PUT\nw\nv1') ? true : undefined;
  });
  const lease = await etcdctl([...ep, 'lease', 'grant', '60']);
  const id = /lease ([0-9a-f]+) granted/.exec(lease.stdout)?.[1];
  assert.ok(id, lease.stdout + lease.stderr);
  assert.match((await etcdctl([...ep, 'lease', 'keep-alive', '--once', id])).stdout, new RegExp(`lease ${id} keepalived with TTL\\(60\\)`));
  assert.match((await etcdctl([...ep, 'member', 'list'])).stdout, /, started, default, /);
  // auth: the token travels as metadata through the proxy
  await etcdctl([...ep, 'user', 'add', 'root:pw']);
  await etcdctl([...ep, 'user', 'grant-role', 'root', 'root']);
  assert.match((await etcdctl([...ep, 'auth', 'enable'])).stdout, /Authentication Enabled/);
  assert.equal((await etcdctl([...ep, '--user', 'root:pw', 'put', 'a', 'b'])).stdout.trim(), 'OK');
  assert.match((await etcdctl([...ep, 'put', 'a', 'c'])).stderr, /user name is empty/);
  assert.equal(await (await fetch(`http://${metrics}/health`)).text(), '{"health":"true"}');
});

test('grpc-proxy: its own TLS with a certificate without CN and --listen-cipher-suites; etcd\'s refusals', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  // a certificate without a Common Name (etcd's proxy refuses any other)
  writeFileSync(join(pki.dir, 'nocn.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'nocn.key', '-out', 'nocn.csr', '-subj', '/O=tsetcd');
  ssl('x509', '-req', '-in', 'nocn.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'nocn.crt', '-days', '2', '-extfile', 'nocn.ext');
  const f = (n: string) => join(pki.dir, n);

  const m = await startTsetcd(t, await tempDir(t));
  const listen = `127.0.0.1:${await freePort()}`;
  const suites = 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256';
  await startProxy(t, ['--endpoints', m.endpoint, '--listen-addr', listen, '--cert-file', f('nocn.crt'), '--key-file', f('nocn.key'), '--listen-cipher-suites', suites]);
  const put = await etcdctl(['--endpoints', `https://${listen}`, '--cacert', f('ca.crt'), 'put', 'tls', 'yes']);
  assert.equal(put.stdout.trim(), 'OK', put.stderr);

  // etcd's e2e TestGrpcproxyAndCommonName: a client certificate with a CN is refused
  const cn = await runProxy(['--endpoints', m.endpoint, '--listen-addr', `127.0.0.1:${await freePort()}`, '--cert', f('server.crt'), '--key', f('server.key'), '--cacert', f('ca.crt')]);
  assert.equal(cn.code, 1);
  assert.match(cn.out, /cert has non empty Common Name \(tsetcd-server\)/);
  const badSuite = await runProxy(['--endpoints', m.endpoint, '--listen-addr', `127.0.0.1:${await freePort()}`, '--listen-cipher-suites', 'TLS_NOPE']);
  assert.equal(badSuite.code, 1);
  assert.match(badSuite.out, /unexpected TLS cipher suite "TLS_NOPE"/);
  const ns = await runProxy(['--namespace', 'app/']);
  assert.match(ns.out, /--namespace is not supported by tsetcd grpc-proxy/);
});
