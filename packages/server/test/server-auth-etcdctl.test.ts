// Auth compared with a real etcd 3.4.23: the real etcdctl against both (users, roles, prefix
// permissions, auth enable/disable, JWT tokens), the JSON gateway's /v3/auth routes, and the
// bin/tsetcd auth flags.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, b, tempDir } from './server-helpers.js';
import { startRealEtcd as startEtcdProcess } from '../../../test/kit/real-etcd.js';
import { callAs, comparable, connectAuth, ctl, login, rejectsWith, run, runWithStdin, startRealEtcd, type AuthClients, type RunResult } from './auth-test-kit.js';

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
    // refused watches: canceled at once, the reason the whole gRPC error text
    ['--user', 'alice:apw', 'watch', '/other'],
    ['watch', '/app/x'],
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
    ['--user', 'carol:secret', 'get', 'x'],
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

  // ready when it logs that it serves clients (the kit waits for that line)
  const member = await startEtcdProcess({
    bin, dir: await tempDir(t), args: ['--auth-token', 'simple', '--auth-token-ttl', '1', '--bcrypt-cost', '4'],
  });
  t.after(() => member.stop());
  const ep = member.endpoint;
  for (const args of [['user', 'add', 'root:pw'], ['user', 'grant-role', 'root', 'root'], ['auth', 'enable']]) {
    const r = await ctl(ep, args);
    assert.equal(r.code, 0, r.stderr);
  }
  const c = connectAuth(t, `http://${ep}`);
  const token = await login(c, 'root', 'pw');
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('k'), value: b('v') }), token);
  // etcd's TTL keeper drops expired tokens on its 1 s ticks: an idle token dies between TTL and TTL + 1 s.
  // The expiry is the behaviour under test, so this wait is real time (TTL + tick + margin).
  await new Promise((r) => setTimeout(r, 2500));
  await rejectsWith(callAs(c.kv.range.bind(c.kv), etcdserverpb.RangeRequest.fromPartial({ key: b('k') }), token), 16, 'etcdserver: invalid auth token');
  const r = await ctl(ep, ['--user', 'root:pw', 'get', 'k', '--print-value-only']);
  assert.equal(r.stdout, 'v\n', r.stderr);
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
