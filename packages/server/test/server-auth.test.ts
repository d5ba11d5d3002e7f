// Auth (users, roles, key-range permissions, tokens) on real tsetcd members through gRPC: token
// TTL and invalidation, watch/txn/lease/lock checks, restart, TLS CN users, the npm etcd3 client,
// apply-time checks; the interval merging against a model. (etcdctl / etcd comparisons: server-auth-etcdctl.test.ts)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, credentials } from '@grpc/grpc-js';
import fc from 'fast-check';
import { Etcd3 } from 'etcd3';
import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
import { startMember, startCertAuthMember, b, tempDir } from './server-helpers.js';
import { IntervalSet, keyInterval } from '../src/auth/range-perms.js';
import { hashPassword, verifyPassword } from '../src/auth/password-hash.js';
import { runAsCaller } from '../src/auth/caller-context.js';
import { SimpleTokenProvider, newSimpleTokenPrefix } from '../src/auth/simple-token.js';
import { callAs, connectAuth, login, rejectsWith, run, setupAuth } from './auth-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';

test('simple tokens: format, TTL renewed on use then expiry, invalidated by password change and user delete', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c);
  // generous margins: the machine may be loaded (the exact renewal rule is unit-tested below)
  m.server.auth.tokens.ttlMs = 2000;
  const token = await login(c, 'alice', 'apw');
  assert.match(token, /^[a-zA-Z]{16}\.\d+$/);
  const get = (tok?: string) => callAs(c.kv.range.bind(c.kv), etcdserverpb.RangeRequest.fromPartial({ key: b('/app/x') }), tok);
  // the TTL is the behaviour under test, so these waits are real time (the member's token clock
  // is not injectable; the rule itself is unit-tested with a fake clock below).
  // used every 700 ms: stays valid past its TTL
  for (let i = 0; i < 4; i++) {
    await get(token);
    await new Promise((r) => setTimeout(r, 700));
  }
  await get(token);
  await new Promise((r) => setTimeout(r, 3000));
  await rejectsWith(get(token), 16, 'etcdserver: invalid auth token');
  await rejectsWith(get(), 3, 'etcdserver: user name is empty');

  m.server.auth.tokens.ttlMs = 60_000;
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
  // (etcd 3.4's CheckPassword: any password, even empty, for a no-password user; gRPC Unknown)
  await rejectsWith(login(c, 'svc', ''), 2, 'auth: authentication failed, password was given for no password user');
  await rejectsWith(login(c, 'svc', 'x'), 2, 'auth: authentication failed, password was given for no password user');
  await rejectsWith(login(c, 'nobody', 'x'), 3, 'etcdserver: authentication failed, invalid user ID or password');
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
  await waitFor('both create responses', () => responses.length >= 2, 5000);
  assert.equal(responses.length, 2);
  // etcd answers with clientv3.InvalidWatchID and the whole gRPC error text as the reason
  assert.equal(responses[0].watchId, -1n);
  assert.equal(responses[0].created, true);
  assert.equal(responses[0].canceled, true);
  assert.equal(responses[0].cancelReason, 'rpc error: code = PermissionDenied desc = etcdserver: permission denied');
  assert.equal(responses[1].created, true);
  assert.equal(responses[1].canceled, false);
  // an event inside the permitted range arrives on the allowed watcher
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('/app/k'), value: b('1') }), rootToken);
  await waitFor('the event on the allowed watcher', () => responses.length >= 3, 5000);
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

  // v3lock / v3election: keys under "<name>/" need read and write permission; etcd's services
  // call KV through an in-process client, so the refusal arrives as Unknown with etcd's text
  const lock = new v3lockpb.LockClient(new URL(m.clientUrls[0]).host, credentials.createInsecure());
  const election = new v3electionpb.ElectionClient(new URL(m.clientUrls[0]).host, credentials.createInsecure());
  t.after(() => {
    lock.close();
    election.close();
  });
  await rejectsWith(callAs(lock.lock.bind(lock), { name: b('/app/lk'), lease: 0n }, alice), 2, 'etcdserver: permission denied');
  await rejectsWith(callAs(election.leader.bind(election), { name: b('/other/e') }, alice), 2, 'etcdserver: permission denied');
  const l2 = await callAs(c.lease.leaseGrant.bind(c.lease), { ID: 0n, TTL: 60n }, rootToken);
  const held = await callAs(lock.lock.bind(lock), { name: b('/app/lk'), lease: l2.ID }, rootToken);
  assert.ok(held.key.toString().startsWith('/app/lk/'));
  await rejectsWith(callAs(lock.unlock.bind(lock), { key: held.key }, alice), 2, 'etcdserver: permission denied');
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
  const { etcdctlTls: tls } = await startCertAuthMember(t);
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

test('simple token provider: TTL renewed by each lookup, expiry, per-user invalidation, disable forgets all', () => {
  let now = 0;
  const p = new SimpleTokenProvider(1000, () => now);
  p.enable();
  const a = p.assign('abcdefghijklmnop', 7, 'alice');
  const r = p.assign('ponmlkjihgfedcba', 8, 'root');
  assert.equal(a, 'abcdefghijklmnop.7');
  now = 999;
  assert.deepEqual(p.info(a), { user: 'alice', revision: undefined });
  now = 1998;
  assert.equal(p.lookup(a), 'alice', 'renewed at 999');
  assert.equal(p.lookup(r), 'root', "root's deadline 1000 passes unnoticed until the keeper's tick at 2000");
  now = 3998;
  assert.equal(p.lookup(r), undefined, "root (deadline 2998) dropped by the tick at 3000");
  assert.equal(p.lookup(a), undefined, 'alice too (renewed at 1998)');
  now = 4500;
  const a3 = p.assign('rrrrrrrrrrrrrrrr', 10, 'alice');
  now = 5999;
  assert.equal(p.lookup(a3), 'alice', 'deadline 5500, next tick 6000');
  now = 7000;
  assert.equal(p.lookup(a3), undefined, 'renewed to 6999, dropped at the tick at 7000');
  p.invalidateUser('alice');
  assert.equal(p.lookup(a), undefined);
  const a2 = p.assign('qqqqqqqqqqqqqqqq', 9, 'alice');
  p.disable();
  assert.equal(p.lookup(a2), undefined);
  p.enable();
  assert.equal(p.lookup(a2), undefined, 'disable forgot it');
  assert.match(newSimpleTokenPrefix(), /^[a-zA-Z]{16}$/);
});

test('scrypt password hashes verify only the right password', async () => {
  const h = await hashPassword('secret', 10);
  assert.match(h, /^scrypt\$10\$8\$1\$/);
  assert.equal(await verifyPassword('secret', h), true);
  assert.equal(await verifyPassword('Secret', h), false);
  assert.equal(await verifyPassword('secret', 'garbage'), false);
  assert.notEqual(await hashPassword('secret', 10), h, 'salted');
});

test('apply-time checks: a proposal names its caller; an old auth revision or a permission lost since the gate is refused', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c);
  const s = m.server;
  const rev = s.auth.revision();
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
