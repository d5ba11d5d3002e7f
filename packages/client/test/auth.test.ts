import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import {
  AuthFailedError,
  Client,
  EtcdServerError,
  PermissionDeniedError,
  RoleNotFoundError,
  UserAlreadyExistError,
} from '../src/index.js';

test('auth against a real server', { timeout: 120_000 }, async (t) => {
  // Simple tokens that expire after 1 s of disuse, to exercise re-authentication.
  const cluster = await ProcessCluster.start(t, { bin: targetBin, size: 1, args: ['--auth-token=simple', '--auth-token-ttl=1'] });
  const admin = new Client({ endpoints: cluster.endpoints });
  t.after(() => admin.close());

  await t.test('user and role management, then enable auth', async () => {
    await admin.auth.userAdd('root', 'rootpw');
    await admin.auth.userGrantRole('root', 'root');
    await admin.auth.roleAdd('reader');
    await admin.auth.roleGrantPermission('reader', 'read', '/pub/', { prefix: true });
    await admin.auth.roleAdd('writer');
    await admin.auth.roleGrantPermission('writer', 'readwrite', '/pub/a');
    await admin.auth.userAdd('alice', 'alicepw');
    await admin.auth.userGrantRole('alice', 'reader');
    await assert.rejects(admin.auth.userAdd('alice', 'x'), UserAlreadyExistError);
    await assert.rejects(admin.auth.userGrantRole('alice', 'nope'), RoleNotFoundError);
    assert.deepEqual((await admin.auth.userGet('alice')).roles, ['reader']);
    assert.deepEqual((await admin.auth.userList()).users.sort(), ['alice', 'root']);
    assert.deepEqual((await admin.auth.roleList()).roles.sort(), ['reader', 'writer']);
    const perms = (await admin.auth.roleGet('reader')).permissions;
    assert.equal(perms.length, 1);
    assert.equal(perms[0].type, 'read');
    assert.equal(perms[0].key.toString(), '/pub/');
    assert.equal(perms[0].rangeEnd.toString(), '/pub0');
    await admin.put('/pub/a', 'public');
    await admin.auth.enable();
  });

  const root = new Client({ endpoints: cluster.endpoints, username: 'root', password: 'rootpw' });
  t.after(() => root.close());
  const alice = new Client({ endpoints: cluster.endpoints, username: 'alice', password: 'alicepw' });
  t.after(() => alice.close());

  await t.test('credentials in options authenticate; permissions are enforced', async () => {
    await assert.rejects(admin.get('/pub/a'), EtcdServerError, 'no token once auth is on');
    assert.equal((await alice.get('/pub/a')).kvs[0].value.toString(), 'public');
    await assert.rejects(alice.put('/pub/a', 'nope'), PermissionDeniedError);
    await assert.rejects(alice.get('/private'), PermissionDeniedError);
    await root.put('/private', 'secret');
    assert.equal((await root.get('/private')).kvs[0].value.toString(), 'secret');
    const wrong = new Client({ endpoints: cluster.endpoints, username: 'alice', password: 'bad' });
    await assert.rejects(wrong.get('/pub/a'), AuthFailedError);
    await wrong.close();
  });

  await t.test('an expired token is renewed transparently (unary and watch)', { timeout: 20_000 }, async () => {
    const w = alice.watch('/pub/', { prefix: true });
    await w.ready;
    const before = (alice.transport as unknown as { token: string }).token;
    // The expiry is what is under test, so this waits out the time: etcd drops a simple token
    // 1 s (--auth-token-ttl) after its last use, checked once a second, so it is gone after 2 s
    // at most. No probe can tell earlier: any request with the token renews it.
    await sleep(2_500);
    assert.equal((await alice.get('/pub/a')).kvs[0].value.toString(), 'public');
    const after = (alice.transport as unknown as { token: string }).token;
    assert.notEqual(after, before, 're-authenticated');
    await root.put('/pub/b', 'seen by the watcher');
    for await (const ev of w) {
      assert.equal(ev.kv.value.toString(), 'seen by the watcher');
      break;
    }
  });

  await t.test('role changes, revoke, password change, disable', async () => {
    await root.auth.userGrantRole('alice', 'writer');
    await alice.put('/pub/a', 'written by alice');
    await root.auth.roleRevokePermission('writer', '/pub/a');
    await assert.rejects(alice.put('/pub/a', 'again'), PermissionDeniedError);
    await root.auth.userRevokeRole('alice', 'writer');
    await root.auth.userChangePassword('alice', 'newpw');
    const alice2 = new Client({ endpoints: cluster.endpoints, username: 'alice', password: 'newpw' });
    assert.equal((await alice2.get('/pub/a')).kvs[0].value.toString(), 'written by alice');
    await alice2.close();
    await root.auth.roleDelete('writer');
    await root.auth.disable();
    assert.equal((await admin.get('/private')).kvs[0].value.toString(), 'secret');
    await admin.auth.userDelete('alice');
    assert.deepEqual((await admin.auth.userList()).users, ['root']);
  });
});
