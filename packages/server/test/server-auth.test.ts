// Auth (users, roles, key-range permissions, simple tokens) on a real tsetcd member, driven by the
// real etcdctl 3.4.23 and compared with a real etcd 3.4.23; raw gRPC for token expiry and watch
// denial; the npm etcd3 client with a username/password; the interval merging against a model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials, type CallOptions, type ServiceError, type Client } from '@grpc/grpc-js';
import fc from 'fast-check';
import { Etcd3 } from 'etcd3';
import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
import { startMember, b, tempDir } from './server-helpers.js';
import { IntervalSet, keyInterval } from '../src/auth/range-perms.js';
import { hashPassword, verifyPassword } from '../src/auth/password-hash.js';
import { runAsCaller } from '../src/auth/caller-context.js';
import { makePki } from './grpc-test-kit.js';

interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_') && !k.startsWith('ETCD_')) env[k] = v;
  return { ...env, ETCDCTL_API: '3' };
}

function run(bin: string, args: string[], timeoutMs = 40_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code });
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A real etcd 3.4.23 on free ports, killed and removed by t.after. */
async function startRealEtcd(t: { after(fn: () => unknown): void }, extraArgs: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-auth-etcd-'));
  const [cport, pport] = [await freePort(), await freePort()];
  const proc: ChildProcess = spawn(
    'etcd',
    [
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', `http://127.0.0.1:${cport}`,
      '--advertise-client-urls', `http://127.0.0.1:${cport}`,
      '--listen-peer-urls', `http://127.0.0.1:${pport}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${pport}`,
      '--initial-cluster', `default=http://127.0.0.1:${pport}`,
      '--log-level', 'error',
      // bcrypt at its cheapest: the comparison is about behaviour, not hashing strength
      '--bcrypt-cost', '4',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() },
  );
  proc.stderr!.resume();
  t.after(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((res) => proc.once('exit', res));
      proc.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
  const endpoint = `127.0.0.1:${cport}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await run('etcdctl', ['--endpoints', endpoint, '--command-timeout=500ms', 'endpoint', 'health']);
    if (r.code === 0) return endpoint;
    if (Date.now() > deadline) throw new Error(`etcd did not start: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** What must match between etcd and tsetcd: stdout (JSON headers dropped), the exit code, the Error line. */
function comparable(r: RunResult): { stdout: string; error: string; code: number | null } {
  let stdout = r.stdout;
  if (stdout.startsWith('{')) {
    const j = JSON.parse(stdout) as Record<string, unknown>;
    delete j.header;
    stdout = JSON.stringify(j);
  }
  const error = r.stderr.split('\n').filter((l) => l.startsWith('Error:')).join('\n');
  return { stdout, error, code: r.code };
}

function ctl(endpoint: string, args: string[]): Promise<RunResult> {
  // bcrypt on a loaded machine is slow in real etcd: generous timeouts
  return run('etcdctl', ['--endpoints', endpoint, '--dial-timeout=10s', '--command-timeout=30s', ...args]);
}

test('etcdctl against tsetcd and etcd 3.4.23: users, roles, prefix permissions, auth enable/disable give the same outputs', async (t) => {
  const [m, real] = await Promise.all([startMember(t, { bcryptCost: 4 }), startRealEtcd(t)]);
  const ours = new URL(m.clientUrls[0]).host;
  const steps: string[][] = [
    ['get', 'x'],
    ['auth', 'enable'],
    ['user', 'add', 'root:pw'],
    ['auth', 'enable'],
    ['user', 'add', 'root:pw'],
    ['role', 'add', 'ro'],
    ['role', 'add', 'ro'],
    ['role', 'add', ''],
    ['role', 'grant-permission', 'ro', '--prefix=true', 'read', '/app/'],
    ['role', 'grant-permission', 'ro', 'write', '/app/own'],
    ['role', 'grant-permission', 'nope', 'read', '/app/'],
    ['user', 'add', 'alice:apw'],
    ['user', 'grant-role', 'alice', 'ro'],
    ['user', 'grant-role', 'alice', 'missing'],
    ['user', 'grant-role', 'bob', 'ro'],
    ['put', '/app/x', 'v1'],
    ['put', '/other', 'o1'],
    ['user', 'grant-role', 'root', 'root'],
    ['role', 'get', 'root'],
    ['auth', 'enable'],
    ['auth', 'enable'],
    ['get', '/app/x'],
    ['put', '/app/x', 'v2'],
    ['--user', 'root:pw', 'put', '/app/y', 'v2'],
    ['--user', 'root:wrong', 'get', '/app/x'],
    ['--user', 'nobody:pw', 'get', '/app/x'],
    ['--user', 'alice:apw', 'get', '/app/x'],
    ['--user', 'alice:apw', 'get', '--prefix', '/app/'],
    ['--user', 'alice:apw', 'get', '/other'],
    ['--user', 'alice:apw', 'get', '--from-key', '/app/'],
    ['--user', 'alice:apw', 'get', '--prefix', '/'],
    ['--user', 'alice:apw', 'put', '/app/x', 'v3'],
    ['--user', 'alice:apw', 'put', '/app/own', 'mine'],
    ['--user', 'alice:apw', 'del', '/app/own'],
    ['--user', 'alice:apw', 'del', '--prefix', '/app/'],
    ['--user', 'alice:apw', 'txn', '--interactive=false'],
    ['--user', 'alice:apw', 'user', 'list'],
    ['--user', 'alice:apw', 'user', 'get', 'alice'],
    ['--user', 'alice:apw', 'user', 'get', 'root'],
    ['--user', 'alice:apw', 'role', 'get', 'ro'],
    ['--user', 'alice:apw', 'role', 'list'],
    ['--user', 'alice:apw', 'endpoint', 'hashkv'],
    ['--user', 'alice:apw', 'compaction', '1'],
    ['--user', 'root:pw', 'user', 'list'],
    ['--user', 'root:pw', 'user', 'get', 'alice'],
    ['--user', 'root:pw', 'user', 'get', 'nobody'],
    ['--user', 'root:pw', 'role', 'list'],
    ['--user', 'root:pw', 'role', 'get', 'ro', '-w', 'json'],
    ['--user', 'root:pw', 'role', 'get', 'ro'],
    ['--user', 'root:pw', 'user', 'add', 'bob:'],
    ['--user', 'root:pw', 'user', 'add', 'carol', '--no-password'],
    ['--user', 'root:pw', 'user', 'get', 'carol'],
    ['--user', 'carol:', 'get', 'x'],
    ['--user', 'root:pw', 'user', 'add', 'dave:x:y'],
    ['--user', 'dave:x:y', 'get', 'x'],
    ['--user', 'root:pw', 'role', 'add', 'rw'],
    ['--user', 'root:pw', 'role', 'grant-permission', 'rw', 'readwrite', 'a', 'b'],
    ['--user', 'root:pw', 'role', 'grant-permission', 'rw', 'read', 'a', 'b'],
    ['--user', 'root:pw', 'role', 'grant-permission', 'rw', 'write', '--from-key', 'x'],
    ['--user', 'root:pw', 'role', 'grant-permission', 'rw', 'read', 'm'],
    ['--user', 'root:pw', 'role', 'get', 'rw'],
    ['--user', 'root:pw', 'user', 'grant-role', 'bob', 'rw'],
    ['--user', 'bob:', 'get', 'a', 'b'],
    ['--user', 'bob:', 'put', 'a1', 'v'],
    ['--user', 'bob:', 'put', 'zzz', 'v'],
    ['--user', 'bob:', 'get', 'm'],
    ['--user', 'bob:', 'get', 'm', 'n'],
    ['--user', 'root:pw', 'role', 'delete', 'rw'],
    ['--user', 'root:pw', 'user', 'get', 'bob'],
    ['--user', 'bob:', 'get', 'm'],
    ['--user', 'root:pw', 'role', 'revoke-permission', 'ro', '/app/own'],
    ['--user', 'root:pw', 'role', 'revoke-permission', 'ro', '/app/own'],
    ['--user', 'root:pw', 'user', 'revoke-role', 'root', 'root'],
    ['--user', 'root:pw', 'user', 'delete', 'root'],
    ['--user', 'root:pw', 'role', 'delete', 'root'],
    ['--user', 'root:pw', 'user', 'revoke-role', 'alice', 'missing'],
    ['--user', 'root:pw', 'user', 'passwd', 'alice', '--interactive=false'],
    ['--user', 'alice:apw', 'get', '/app/x'],
    ['--user', 'alice:apw2', 'get', '/app/x'],
    ['--user', 'root:pw', 'role', 'delete', 'ro'],
    ['--user', 'alice:apw2', 'get', '/app/x'],
    ['--user', 'root:pw', 'user', 'get', 'alice'],
    ['--user', 'root:pw', 'user', 'delete', 'alice'],
    ['--user', 'root:pw', 'user', 'delete', 'alice'],
    ['--user', 'root:pw', 'auth', 'disable'],
    ['get', '/app/x'],
    ['user', 'list'],
  ];
  const stdinFor = (args: string[]): string | undefined => {
    if (args.includes('txn')) return 'value("/other") = "o1"\n\nput /app/own x\n\nget /app/x\n\n';
    if (args.includes('passwd')) return 'apw2\n';
    return undefined;
  };
  for (const args of steps) {
    const stdin = stdinFor(args);
    const exec = (ep: string): Promise<RunResult> =>
      stdin === undefined ? ctl(ep, args) : runWithStdin(['--endpoints', ep, '--dial-timeout=10s', '--command-timeout=30s', ...args], stdin);
    const [a, e] = await Promise.all([exec(ours), exec(real)]);
    assert.deepEqual(comparable(a), comparable(e), `etcdctl ${args.join(' ')}\n tsetcd: ${a.stdout}${a.stderr}\n etcd: ${e.stdout}${e.stderr}`);
  }
});

function runWithStdin(args: string[], stdin: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', args, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
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
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

// ---- raw gRPC ----

interface AuthClients {
  kv: InstanceType<typeof etcdserverpb.KVClient>;
  watch: InstanceType<typeof etcdserverpb.WatchClient>;
  lease: InstanceType<typeof etcdserverpb.LeaseClient>;
  auth: InstanceType<typeof etcdserverpb.AuthClient>;
  maintenance: InstanceType<typeof etcdserverpb.MaintenanceClient>;
}

function connectAuth(t: { after(fn: () => unknown): void }, url: string): AuthClients {
  const addr = new URL(url).host;
  const c = credentials.createInsecure();
  const clients: AuthClients = {
    kv: new etcdserverpb.KVClient(addr, c),
    watch: new etcdserverpb.WatchClient(addr, c),
    lease: new etcdserverpb.LeaseClient(addr, c),
    auth: new etcdserverpb.AuthClient(addr, c),
    maintenance: new etcdserverpb.MaintenanceClient(addr, c),
  };
  t.after(() => {
    for (const cl of Object.values(clients)) (cl as Client).close();
  });
  return clients;
}

/** The generated clients' fullest overload (a bound method resolves to it). */
type Unary<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: (err: ServiceError | null, res: Res) => void) => unknown;

function callAs<Req, Res>(fn: Unary<Req, Res>, req: Req, token?: string): Promise<Res> {
  const md = new Metadata();
  if (token !== undefined) md.set('token', token);
  return new Promise((resolve, reject) => {
    fn(req, md, {}, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function rejectsWith(p: Promise<unknown>, code: number, details: string): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.details, details);
    assert.equal(e.code, code);
    return true;
  });
}

/** root:pw (root role), role ro = READ on prefix /app/, user alice:apw with ro; auth enabled. */
async function setupAuth(c: AuthClients): Promise<void> {
  const a = c.auth;
  await callAs(a.userAdd.bind(a), etcdserverpb.AuthUserAddRequest.fromPartial({ name: 'root', password: 'pw' }));
  await callAs(a.userGrantRole.bind(a), { user: 'root', role: 'root' });
  await callAs(a.roleAdd.bind(a), { name: 'ro' });
  await callAs(a.roleGrantPermission.bind(a), { name: 'ro', perm: { permType: 0, key: b('/app/'), rangeEnd: b('/app0') } });
  await callAs(a.userAdd.bind(a), etcdserverpb.AuthUserAddRequest.fromPartial({ name: 'alice', password: 'apw' }));
  await callAs(a.userGrantRole.bind(a), { user: 'alice', role: 'ro' });
  await callAs(a.authEnable.bind(a), {});
}

async function login(c: AuthClients, name: string, password: string): Promise<string> {
  const r = await callAs(c.auth.authenticate.bind(c.auth), { name, password });
  return r.token;
}

test('simple tokens: format, TTL renewed on use then expiry, invalidated by password change and user delete', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c);
  m.server.applier.auth.tokens.ttlMs = 400;
  const token = await login(c, 'alice', 'apw');
  assert.match(token, /^[a-zA-Z]{16}\.\d+$/);
  const get = (tok?: string) => callAs(c.kv.range.bind(c.kv), etcdserverpb.RangeRequest.fromPartial({ key: b('/app/x') }), tok);
  // used every 250 ms: stays valid past its TTL
  for (let i = 0; i < 3; i++) {
    await get(token);
    await new Promise((r) => setTimeout(r, 250));
  }
  await get(token);
  await new Promise((r) => setTimeout(r, 600));
  await rejectsWith(get(token), 16, 'etcdserver: invalid auth token');
  await rejectsWith(get(), 3, 'etcdserver: user name is empty');

  m.server.applier.auth.tokens.ttlMs = 60_000;
  const rootToken = await login(c, 'root', 'pw');
  const t2 = await login(c, 'alice', 'apw');
  await get(t2);
  await callAs(c.auth.userChangePassword.bind(c.auth), { name: 'alice', password: 'new' }, rootToken);
  await rejectsWith(get(t2), 16, 'etcdserver: invalid auth token');
  await rejectsWith(login(c, 'alice', 'apw'), 3, 'etcdserver: authentication failed, invalid user ID or password');
  const t3 = await login(c, 'alice', 'new');
  await get(t3);
  await callAs(c.auth.userDelete.bind(c.auth), { name: 'alice' }, rootToken);
  await rejectsWith(get(t3), 16, 'etcdserver: invalid auth token');
  // a token is not a password: no-password users cannot log in
  await callAs(c.auth.userAdd.bind(c.auth), etcdserverpb.AuthUserAddRequest.fromPartial({ name: 'svc', options: { noPassword: true } }), rootToken);
  await rejectsWith(login(c, 'svc', ''), 3, 'etcdserver: authentication failed, invalid user ID or password');
  await callAs(c.auth.authDisable.bind(c.auth), {}, rootToken);
  await rejectsWith(login(c, 'root', 'pw'), 9, 'etcdserver: authentication is not enabled');
});

test('watch create outside the permitted range is created and canceled with "permission denied"; txn and lease revoke are checked', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c);
  const rootToken = await login(c, 'root', 'pw');
  const alice = await login(c, 'alice', 'apw');

  const md = new Metadata();
  md.set('token', alice);
  const stream = c.watch.watch(md);
  t.after(() => stream.cancel());
  const responses: etcdserverpb.WatchResponse[] = [];
  stream.on('data', (r: etcdserverpb.WatchResponse) => responses.push(r));
  stream.on('error', () => undefined);
  stream.write(etcdserverpb.WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: { key: b('/other'), watchId: 7n } } }));
  stream.write(etcdserverpb.WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: { key: b('/app/'), rangeEnd: b('/app0') } } }));
  const deadline = Date.now() + 5000;
  while (responses.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(responses.length, 2);
  assert.equal(responses[0].watchId, 7n);
  assert.equal(responses[0].created, true);
  assert.equal(responses[0].canceled, true);
  assert.equal(responses[0].cancelReason, 'etcdserver: permission denied');
  assert.equal(responses[1].created, true);
  assert.equal(responses[1].canceled, false);
  // an event inside the permitted range arrives on the allowed watcher
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('/app/k'), value: b('1') }), rootToken);
  while (responses.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(responses[2].events[0].kv?.key.toString(), '/app/k');

  // txn: a read inside but a compare outside is denied; reads inside pass
  const txn = (compareKey: string) =>
    callAs(c.kv.txn.bind(c.kv), etcdserverpb.TxnRequest.fromPartial({
      compare: [{ key: b(compareKey), target: etcdserverpb.Compare_CompareTarget.VERSION, result: etcdserverpb.Compare_CompareResult.EQUAL, targetUnion: { $case: 'version', value: 0n } }],
      success: [{ request: { $case: 'requestRange', value: etcdserverpb.RangeRequest.fromPartial({ key: b('/app/k') }) } }],
    }), alice);
  await rejectsWith(txn('/other'), 7, 'etcdserver: permission denied');
  assert.equal((await txn('/app/none')).succeeded, true);
  // nested txn with a put inside the permitted read-only prefix: denied
  await rejectsWith(
    callAs(c.kv.txn.bind(c.kv), etcdserverpb.TxnRequest.fromPartial({
      failure: [{ request: { $case: 'requestTxn', value: etcdserverpb.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', value: etcdserverpb.PutRequest.fromPartial({ key: b('/app/k'), value: b('x') }) } }] }) } }],
    }), alice),
    7, 'etcdserver: permission denied',
  );

  // a lease with a key under /app/: revoking it needs write permission on that key
  const lease = await callAs(c.lease.leaseGrant.bind(c.lease), { ID: 0n, TTL: 60n }, rootToken);
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('/app/leased'), value: b('1'), lease: lease.ID }), rootToken);
  await rejectsWith(callAs(c.lease.leaseRevoke.bind(c.lease), { ID: lease.ID }, alice), 7, 'etcdserver: permission denied');
  await callAs(c.lease.leaseRevoke.bind(c.lease), { ID: lease.ID }, rootToken);

  // maintenance admin checks answer with the auth store's own text (etcd 3.4)
  await rejectsWith(callAs(c.maintenance.hashKv.bind(c.maintenance), { revision: 0n }, alice), 2, 'auth: permission denied');
  await rejectsWith(callAs(c.maintenance.defragment.bind(c.maintenance), {}, 'bogus.1'), 2, 'auth: invalid auth token');
  await callAs(c.maintenance.hashKv.bind(c.maintenance), { revision: 0n }, rootToken);

  // v3lock / v3election: keys under "<name>/" need read and write permission
  const lock = new v3lockpb.LockClient(new URL(m.clientUrls[0]).host, credentials.createInsecure());
  const election = new v3electionpb.ElectionClient(new URL(m.clientUrls[0]).host, credentials.createInsecure());
  t.after(() => {
    lock.close();
    election.close();
  });
  await rejectsWith(callAs(lock.lock.bind(lock), { name: b('/app/lk'), lease: 0n }, alice), 7, 'etcdserver: permission denied');
  await rejectsWith(callAs(election.leader.bind(election), { name: b('/other/e') }, alice), 7, 'etcdserver: permission denied');
  const l2 = await callAs(c.lease.leaseGrant.bind(c.lease), { ID: 0n, TTL: 60n }, rootToken);
  const held = await callAs(lock.lock.bind(lock), { name: b('/app/lk'), lease: l2.ID }, rootToken);
  assert.ok(held.key.toString().startsWith('/app/lk/'));
  await rejectsWith(callAs(lock.unlock.bind(lock), { key: held.key }, alice), 7, 'etcdserver: permission denied');
  await callAs(lock.unlock.bind(lock), { key: held.key }, rootToken);
});

test('auth state survives a restart: users, roles, enabled flag', async (t) => {
  const dataDir = await tempDir(t);
  {
    const m = await startMember(t, { dataDir });
    const c = connectAuth(t, m.clientUrls[0]);
    await setupAuth(c);
    await m.close();
  }
  const m = await startMember(t, { dataDir });
  const c = connectAuth(t, m.clientUrls[0]);
  await rejectsWith(callAs(c.kv.range.bind(c.kv), etcdserverpb.RangeRequest.fromPartial({ key: b('/app/x') })), 3, 'etcdserver: user name is empty');
  const root = await login(c, 'root', 'pw');
  const users = await callAs(c.auth.userList.bind(c.auth), {}, root);
  assert.deepEqual(users.users, ['alice', 'root']);
  const role = await callAs(c.auth.roleGet.bind(c.auth), { role: 'ro' }, root);
  assert.deepEqual(role.perm.map((p) => [p.permType, p.key.toString(), p.rangeEnd.toString()]), [[0, '/app/', '/app0']]);
  const alice = await login(c, 'alice', 'apw');
  await rejectsWith(callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('/app/x'), value: b('1') }), alice), 7, 'etcdserver: permission denied');
});

test('TLS client certificate CN is the user when no token is sent', async (t) => {
  const pki = makePki();
  t.after(() => rm(pki.dir, { recursive: true, force: true }));
  const m = await startMember(t, {
    listenClientUrls: ['https://127.0.0.1:0'],
    certFile: join(pki.dir, 'server.crt'),
    keyFile: join(pki.dir, 'server.key'),
    trustedCaFile: join(pki.dir, 'ca.crt'),
    clientCertAuth: true,
  });
  const ep = new URL(m.clientUrls[0]).host;
  const tls = ['--endpoints', ep, '--cacert', join(pki.dir, 'ca.crt'), '--cert', join(pki.dir, 'client.crt'), '--key', join(pki.dir, 'client.key'), '--dial-timeout=10s', '--command-timeout=30s'];
  for (const args of [['user', 'add', 'root:pw'], ['user', 'grant-role', 'root', 'root'], ['auth', 'enable']]) {
    const r = await run('etcdctl', [...tls, ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  // the certificate's CN is "root": no password needed
  const put = await run('etcdctl', [...tls, 'put', 'k', 'v']);
  assert.equal(put.stdout, 'OK\n', put.stderr);
  const list = await run('etcdctl', [...tls, 'user', 'list']);
  assert.equal(list.stdout, 'root\n');
});

test('npm etcd3 client with auth: {username, password}', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c);
  const root = new Etcd3({ hosts: m.clientUrls[0], auth: { username: 'root', password: 'pw' } });
  const alice = new Etcd3({ hosts: m.clientUrls[0], auth: { username: 'alice', password: 'apw' } });
  const anon = new Etcd3({ hosts: m.clientUrls[0] });
  t.after(() => {
    root.close();
    alice.close();
    anon.close();
  });
  await root.put('/app/a').value('1');
  assert.equal(await alice.get('/app/a').string(), '1');
  await assert.rejects(alice.put('/app/a').value('2').exec(), /permission denied/);
  await assert.rejects(alice.get('/other').string(), /permission denied/);
  await assert.rejects(anon.get('/app/a').string(), /user name is empty/);
  assert.deepEqual((await root.getUsers()).map((u) => u.name).sort(), ['alice', 'root']);
});

// ---- pure parts ----

test('merged permission intervals cover a range exactly when a greedy walk over the raw permissions does', () => {
  // oracle: walk from the request start, jumping to the farthest end of any raw permission
  // containing the position, until past the request end (no sorting, no merging)
  const covers = (perms: Array<{ start: Buffer; end: Buffer | undefined }>, q: { start: Buffer; end: Buffer | undefined }): boolean => {
    let pos: Buffer | undefined = q.start;
    for (;;) {
      if (pos === undefined) return true;
      if (q.end !== undefined && Buffer.compare(pos, q.end) >= 0) return true;
      let best: Buffer | undefined | null = null;
      for (const p of perms) {
        const at = pos;
        if (Buffer.compare(p.start, at) <= 0 && (p.end === undefined || Buffer.compare(at, p.end) < 0)) {
          if (p.end === undefined) best = undefined;
          else if (best !== undefined && (best === null || Buffer.compare(p.end, best) > 0)) best = p.end;
        }
      }
      if (best === null) return false;
      pos = best;
    }
  };
  const key = fc.constantFrom('a', 'aa', 'a\0', 'ab', 'b', 'ba', 'c', 'c\0', 'd');
  const end = fc.oneof(fc.constant(''), fc.constant('\0'), key);
  fc.assert(
    fc.property(fc.array(fc.tuple(key, end), { maxLength: 6 }), key, end, (perms, qk, qe) => {
      const raw = perms.map(([k, e]) => keyInterval(b(k), b(e))).filter((i) => i.end === undefined || Buffer.compare(i.start, i.end) < 0);
      const q = keyInterval(b(qk), b(qe));
      if (q.end !== undefined && Buffer.compare(q.start, q.end) >= 0) return;
      assert.equal(new IntervalSet(raw).covers(q), covers(raw, q), JSON.stringify({ perms, qk, qe }));
    }),
    { numRuns: 2000 },
  );
  // touching ranges merge; a point is [key, key\0)
  const s = new IntervalSet([keyInterval(b('a'), b('b')), keyInterval(b('b'), b('c')), keyInterval(b('c'), b(''))]);
  assert.equal(s.size, 1);
  assert.equal(s.covers(keyInterval(b('a'), b('c\0'))), true);
  assert.equal(s.covers(keyInterval(b('a'), b('c\0\0'))), false);
});

test('scrypt password hashes verify only the right password', async () => {
  const h = await hashPassword('secret', 10);
  assert.match(h, /^scrypt\$10\$8\$1\$/);
  assert.equal(await verifyPassword('secret', h), true);
  assert.equal(await verifyPassword('Secret', h), false);
  assert.equal(await verifyPassword('secret', 'garbage'), false);
  assert.notEqual(await hashPassword('secret', 10), h, 'salted');
});

test('JSON gateway: /v3/auth routes and the Authorization header, same statuses and bodies as etcd 3.4.23', async (t) => {
  const [m, real] = await Promise.all([startMember(t, { bcryptCost: 4 }), startRealEtcd(t)]);
  const bases = { ours: m.clientUrls[0], etcd: `http://${real}` };
  const post = async (base: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: token };
    const r = await fetch(base + path, { method: 'POST', body: JSON.stringify(body), headers });
    const j = (await r.json()) as Record<string, unknown>;
    delete j.header;
    return { status: r.status, body: j };
  };
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  const tokens: Record<string, string | undefined> = {};
  const steps: Array<[string, unknown, 'root' | 'anon']> = [
    ['/v3/auth/user/add', { name: 'root', password: 'pw' }, 'anon'],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }, 'anon'],
    ['/v3/auth/role/add', { name: 'r' }, 'anon'],
    ['/v3/auth/role/grant', { name: 'r', perm: { permType: 'READWRITE', key: b64('a'), range_end: b64('b') } }, 'anon'],
    ['/v3/auth/authenticate', { name: 'root', password: 'pw' }, 'anon'],
    ['/v3/auth/enable', {}, 'anon'],
    ['/v3/auth/authenticate', { name: 'root', password: 'bad' }, 'anon'],
    ['/v3/kv/put', { key: b64('k'), value: b64('v') }, 'anon'],
    ['/v3/kv/put', { key: b64('k'), value: b64('v') }, 'root'],
    ['/v3/kv/range', { key: b64('k') }, 'root'],
    ['/v3/auth/user/list', {}, 'anon'],
    ['/v3/auth/user/list', {}, 'root'],
    ['/v3/auth/role/get', { role: 'r' }, 'root'],
    ['/v3/auth/role/revoke', { role: 'r', key: b64('a'), range_end: b64('c') }, 'root'],
    ['/v3/auth/disable', {}, 'root'],
  ];
  for (const [path, body, who] of steps) {
    const res: Record<string, { status: number; body: Record<string, unknown> }> = {};
    for (const side of ['ours', 'etcd'] as const) {
      if (who === 'root' && tokens[side] === undefined) {
        const r = await post(bases[side], '/v3/auth/authenticate', { name: 'root', password: 'pw' });
        tokens[side] = r.body.token as string;
      }
      res[side] = await post(bases[side], path, body, who === 'root' ? tokens[side] : undefined);
    }
    if (path === '/v3/auth/authenticate' && res.ours.status === 200) {
      assert.match(res.ours.body.token as string, /^[a-zA-Z]{16}\.\d+$/);
      res.ours.body.token = res.etcd.body.token;
    }
    assert.deepEqual(res.ours, res.etcd, `${path} as ${who}`);
  }
});

test('bin/tsetcd: --auth-token-ttl expires idle tokens (etcdctl logs in again), --bcrypt-cost, bad --auth-token refused', async (t) => {
  const bin = new URL('../../../bin/tsetcd', import.meta.url).pathname;
  const bad = await run(bin, ['--auth-token', 'jwt,sign-method=RS256', '--data-dir', join(await tempDir(t), 'd')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr + bad.stdout, /failed to create token provider: auth: missing key data/);
  const unknown = await run(bin, ['--auth-token', 'foo', '--data-dir', join(await tempDir(t), 'd')]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr + unknown.stdout, /failed to create token provider: auth: invalid auth options/);

  const dir = await tempDir(t);
  const port = await freePort();
  const proc = spawn(bin, [
    '--data-dir', join(dir, 'd'), '--listen-client-urls', `http://127.0.0.1:${port}`, '--advertise-client-urls', `http://127.0.0.1:${port}`,
    '--auth-token', 'simple', '--auth-token-ttl', '1', '--bcrypt-cost', '4', '--log-level', 'error',
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
  proc.stderr!.resume();
  t.after(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((res) => proc.once('exit', res));
      proc.kill('SIGTERM');
      await exited;
    }
  });
  const ep = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await run('etcdctl', ['--endpoints', ep, '--command-timeout=1s', 'endpoint', 'health'])).code !== 0) {
    assert.ok(Date.now() < deadline, 'tsetcd did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const args of [['user', 'add', 'root:pw'], ['user', 'grant-role', 'root', 'root'], ['auth', 'enable']]) {
    const r = await ctl(ep, args);
    assert.equal(r.code, 0, r.stderr);
  }
  const c = connectAuth(t, `http://${ep}`);
  const token = await login(c, 'root', 'pw');
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('k'), value: b('v') }), token);
  await new Promise((r) => setTimeout(r, 1500));
  await rejectsWith(callAs(c.kv.range.bind(c.kv), etcdserverpb.RangeRequest.fromPartial({ key: b('k') }), token), 16, 'etcdserver: invalid auth token');
  const r = await ctl(ep, ['--user', 'root:pw', 'get', 'k', '--print-value-only']);
  assert.equal(r.stdout, 'v\n', r.stderr);
});

test('apply-time checks: a proposal names its caller; an old auth revision or a permission lost since the gate is refused', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c);
  const s = m.server;
  const rev = s.applier.auth.revision();
  const put = (key: string) => s.propose({ put: etcdserverpb.PutRequest.fromPartial({ key: b(key), value: b('v') }) });
  await assert.rejects(runAsCaller({ user: 'root', authRevision: rev - 1n }, () => put('/app/a')), (e: Error) => e.message === 'etcdserver: revision of auth store is old');
  await runAsCaller({ user: 'root', authRevision: rev }, () => put('/app/a'));
  // alice may only read /app/: the applier refuses her write even though nothing checked it before
  await assert.rejects(runAsCaller({ user: 'alice', authRevision: rev }, () => put('/app/a')), (e: Error) => e.message === 'etcdserver: permission denied');
  await assert.rejects(
    runAsCaller({ user: 'alice', authRevision: rev }, () => s.propose({ authUserAdd: etcdserverpb.AuthUserAddRequest.fromPartial({ name: 'x' }) })),
    (e: Error) => e.message === 'etcdserver: permission denied',
  );
  // the server's own proposals (no caller) are not checked
  await put('/other/by-server');
  assert.equal(s.store.range(b('/other/by-server'), {}).kvs.length, 1);
});

test('JWT tokens (RS256): same etcdctl outputs as etcd 3.4.23, tokens accepted across the two, old revision refused', async (t) => {
  const dir = await tempDir(t);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const spec = `jwt,pub-key=${join(dir, 'pub.pem')},priv-key=${join(dir, 'priv.pem')},sign-method=RS256,ttl=10m`;
  const [m, real] = await Promise.all([startMember(t, { bcryptCost: 4, authToken: spec }), startRealEtcd(t, ['--auth-token', spec])]);
  const ours = new URL(m.clientUrls[0]).host;
  const steps: string[][] = [
    ['user', 'add', 'root:pw'],
    ['user', 'grant-role', 'root', 'root'],
    ['role', 'add', 'ro'],
    ['role', 'grant-permission', 'ro', '--prefix=true', 'read', '/app/'],
    ['user', 'add', 'alice:apw'],
    ['user', 'grant-role', 'alice', 'ro'],
    ['auth', 'enable'],
    ['--user', 'root:pw', 'put', '/app/x', '1'],
    ['--user', 'alice:apw', 'get', '/app/x'],
    ['--user', 'alice:apw', 'put', '/app/x', '2'],
    ['--user', 'alice:bad', 'get', '/app/x'],
    ['--user', 'root:pw', 'user', 'list'],
  ];
  for (const args of steps) {
    const [a, e] = await Promise.all([ctl(ours, args), ctl(real, args)]);
    assert.deepEqual(comparable(a), comparable(e), `etcdctl ${args.join(' ')}\n tsetcd: ${a.stdout}${a.stderr}\n etcd: ${e.stdout}${e.stderr}`);
  }
  const co = connectAuth(t, m.clientUrls[0]);
  const ce = connectAuth(t, `http://${real}`);
  const [tokOurs, tokEtcd] = await Promise.all([login(co, 'alice', 'apw'), login(ce, 'alice', 'apw')]);
  const claims = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(claims(tokOurs)), Object.keys(claims(tokEtcd)));
  assert.equal(claims(tokOurs).username, 'alice');
  assert.equal(claims(tokOurs).revision, claims(tokEtcd).revision);
  const get = (c: AuthClients, tok: string) => callAs(c.kv.range.bind(c.kv), etcdserverpb.RangeRequest.fromPartial({ key: b('/app/x') }), tok);
  // same keys, same auth revision: each accepts the other's token
  assert.equal((await get(co, tokEtcd)).kvs[0].value.toString(), '1');
  assert.equal((await get(ce, tokOurs)).kvs[0].value.toString(), '1');
  // a forged signature is an invalid token on both
  const forged = tokOurs.slice(0, -4) + (tokOurs.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  for (const c of [co, ce]) await rejectsWith(get(c, forged), 16, 'etcdserver: invalid auth token');
  // after an auth change the JWTs carry an old revision
  const [rootOurs, rootEtcd] = await Promise.all([login(co, 'root', 'pw'), login(ce, 'root', 'pw')]);
  await callAs(co.auth.roleAdd.bind(co.auth), { name: 'other' }, rootOurs);
  await callAs(ce.auth.roleAdd.bind(ce.auth), { name: 'other' }, rootEtcd);
  for (const [c, tok] of [[co, tokOurs], [ce, tokEtcd]] as const) await rejectsWith(get(c, tok), 3, 'etcdserver: revision of auth store is old');
});
