// `tsetcd gateway start`: etcd's L4 gateway in front of a member, driven by the real etcdctl.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTsetcd, startTsetcdCommand, tempDir, tsetcdBin } from './kit/tsetcd-process.js';
import { freePort } from './kit/real-etcd.js';
import { DnsTestServer } from './dns-test-server.js';
import { run } from './kit/processes.js';

/** Starts `tsetcd gateway <args>` and resolves once it logged that it proxies. */
const startGateway = (t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}) => startTsetcdCommand(t, ['gateway', ...args], '"ready to proxy client requests"', { env });

const etcdctl = (args: string[]) => run('etcdctl', [...args], { timeoutMs: 30_000 });

test('gateway start: etcdctl through --listen-addr reaches the member; a dead endpoint is skipped', async (t) => {
  const m = await startTsetcd(t, await tempDir(t));
  const dead = await freePort();
  const listen = `127.0.0.1:${await freePort()}`;
  // flags before the "start" word, endpoints with a scheme (etcd's e2e TestGateway form)
  const gw = await startGateway(t, [`--endpoints=http://127.0.0.1:${dead},http://${m.endpoint}`, 'start', '--listen-addr', listen, '--retry-delay', '1h']);
  const ready = JSON.parse(gw.logs.find((l) => l.includes('"ready to proxy client requests"'))!) as { endpoints: string[] };
  assert.deepEqual(ready.endpoints, [`127.0.0.1:${dead}`, m.endpoint]);
  for (let i = 0; i < 3; i++) {
    const put = await etcdctl(['--endpoints', listen, 'put', `foo${i}`, 'bar']);
    assert.equal(put.stdout.trim(), 'OK', put.stderr);
  }
  const get = await etcdctl(['--endpoints', listen, 'get', 'foo0', '--print-value-only']);
  assert.equal(get.stdout.trim(), 'bar');
  assert.ok(gw.logs.some((l) => l.includes('"deactivated endpoint"') && l.includes(`127.0.0.1:${dead}`)));
});

test('gateway start --discovery-srv: endpoints from _etcd-client._tcp records', async (t) => {
  const m = await startTsetcd(t, await tempDir(t));
  const dns = new DnsTestServer();
  const addr = await dns.start();
  t.after(() => dns.close());
  dns.srv.set('_etcd-client._tcp.example.test', [{ target: '127.0.0.1', port: Number(m.endpoint.split(':')[1]) }]);
  const listen = `127.0.0.1:${await freePort()}`;
  const gw = await startGateway(t, ['start', '--discovery-srv', 'example.test', '--listen-addr', listen], { TSETCD_DNS_SERVER: addr });
  assert.ok(gw.logs.some((l) => l.includes('"discovered cluster from SRV"') && l.includes(`http://127.0.0.1:${m.endpoint.split(':')[1]}`)));
  const put = await etcdctl(['--endpoints', listen, 'put', 'srv', 'yes']);
  assert.equal(put.stdout.trim(), 'OK', put.stderr);
});

test('gateway start refuses an endpoint that is its own listen address', async () => {
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(tsetcdBin, ['gateway', 'start', '--endpoints', '127.0.0.1:23999', '--listen-addr', '127.0.0.1:23999'], (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, out: stdout + stderr }));
  });
  assert.equal(r.code, 1);
  assert.match(r.out, /SRV or endpoint \(127\.0\.0\.1:23999->127\.0\.0\.1:23999\) should not resolve to the gateway listen addr \(127\.0\.0\.1:23999\)/);
});
