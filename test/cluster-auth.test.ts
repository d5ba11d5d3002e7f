// Auth on a real 3-member tsetcd cluster: users, roles and the enabled flag replicate through
// raft; a member that joins later and catches up from a database snapshot rebuilds its auth state
// from it (etcd's authStore.Recover); tokens issued by one member are accepted by the others
// only for JWTs — simple tokens are member-local, as in etcd.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Client } from '@tsetcd/client';
import { ProcessCluster } from './kit/cluster.js';
import { eventually } from './kit/wait.js';

function etcdctl(endpoint: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
    const child = spawn('etcdctl', ['--endpoints', endpoint, '--dial-timeout=10s', '--command-timeout=20s', ...args], { env: { ...env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code });
    });
  });
}

test('cluster auth: replicated users/roles/permissions; a member caught up from a snapshot enforces them', async (t) => {
  const c = await ProcessCluster.start(t, { args: ['--snapshot-count', '20', '--experimental-snapshot-catchup-entries', '5', '--bcrypt-cost', '4'] });
  const ep0 = new URL(c.clientUrl(0)).host;
  for (const args of [
    ['user', 'add', 'root:pw'],
    ['user', 'grant-role', 'root', 'root'],
    ['role', 'add', 'ro'],
    ['role', 'grant-permission', 'ro', '--prefix=true', 'read', '/app/'],
    ['user', 'add', 'alice:apw'],
    ['user', 'grant-role', 'alice', 'ro'],
    ['auth', 'enable'],
  ]) {
    const r = await etcdctl(ep0, args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  // enough writes for the leader to snapshot and compact its log past the auth entries
  const root = new Client({ endpoints: [c.clientUrl(0)], username: 'root', password: 'pw', requestTimeout: 8000, dialTimeout: 3000 });
  t.after(() => root.close());
  for (let i = 0; i < 40; i += 10) await Promise.all([...Array(10).keys()].map((k) => root.put(`/app/${i + k}`, `v${i + k}`)));
  // every member enforces the same permissions
  for (const i of [1, 2]) {
    const ep = new URL(c.clientUrl(i)).host;
    const ok = await etcdctl(ep, ['--user', 'alice:apw', 'get', '/app/1', '--print-value-only']);
    assert.equal(ok.stdout, 'v1\n', ok.stderr);
    const denied = await etcdctl(ep, ['--user', 'alice:apw', 'put', '/app/1', 'x']);
    assert.match(denied.stderr, /Error: etcdserver: permission denied/);
  }
  // a fourth member joins and catches up from a database snapshot
  const n = await c.addSpec();
  // like etcd, a member add is refused ("etcdserver: unhealthy cluster") until every peer has been
  // connected for 5 s, so a fresh cluster is retried until it qualifies
  await eventually('member add accepted', 30_000, async () => {
    const add = await etcdctl(ep0, ['--user', 'root:pw', 'member', 'add', c.members[n].name, `--peer-urls=${c.peerUrl(n)}`]);
    if (add.code === 0) return true;
    assert.match(add.stderr, /etcdserver: unhealthy cluster/);
    return undefined;
  });
  await c.startMember(n, 'existing', c.initialCluster([0, 1, 2, n])).catch((e) => {
    console.error(c.members[n].logs.filter((l) => !l.includes('received database snapshot')).slice(-30).join('\n'));
    throw e;
  });
  const epn = new URL(c.clientUrl(n)).host;
  await eventually('new member serves alice', 30_000, async () => {
    const r = await etcdctl(epn, ['--user', 'alice:apw', 'get', '/app/39', '--print-value-only', '--consistency=s']);
    return r.stdout === 'v39\n' ? true : undefined;
  });
  assert.ok(c.members[n].logs.some((l) => l.includes('"applied snapshot"')), 'the new member installed a database snapshot');
  const anon = await etcdctl(epn, ['get', '/app/1']);
  assert.match(anon.stderr, /Error: etcdserver: user name is empty/);
  const denied = await etcdctl(epn, ['--user', 'alice:apw', 'get', '/other']);
  assert.match(denied.stderr, /Error: etcdserver: permission denied/);
  const users = await etcdctl(epn, ['--user', 'root:pw', 'user', 'list']);
  assert.equal(users.stdout, 'alice\nroot\n');
});
