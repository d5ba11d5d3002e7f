// The npm etcd3 client's basic operations against tsetcd (embedded member, real sockets).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startServer } from '@tsetcd/server/embed/index';

test('etcd3 npm client: put/get/prefix/delete/txn/lease/watch/lock against tsetcd', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-etcd3-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const m = await startServer({ dataDir: dir, listenClientUrls: ['http://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200 });
  t.after(() => m.close());
  await m.ready;
  const client = new Etcd3({ hosts: m.clientUrls[0] });
  t.after(() => client.close());

  await client.put('foo').value('bar');
  assert.equal(await client.get('foo').string(), 'bar');
  await client.put('dir/a').value('1');
  await client.put('dir/b').value('2');
  assert.deepEqual(await client.getAll().prefix('dir/').strings(), { 'dir/a': '1', 'dir/b': '2' });
  assert.equal(await client.getAll().prefix('dir/').count(), 2);
  await client.delete().key('dir/a');
  assert.deepEqual(await client.getAll().prefix('dir/').keys(), ['dir/b']);

  const r = await client.if('foo', 'Value', '==', 'bar').then(client.put('foo').value('baz')).else(client.put('other').value('x')).commit();
  assert.equal(r.succeeded, true);
  assert.equal(await client.get('foo').string(), 'baz');

  const lease = client.lease(10);
  t.after(() => lease.revoke().catch(() => undefined));
  await lease.put('leased').value('v');
  assert.equal(await client.get('leased').string(), 'v');
  const id = await lease.grant();
  assert.ok(id.length > 0);
  await lease.keepaliveOnce();
  await lease.revoke();
  assert.equal(await client.get('leased').string(), null);

  const watcher = await client.watch().key('w').create();
  const seen = new Promise<string>((resolve) => watcher.on('put', (kv) => resolve(kv.value.toString())));
  await client.put('w').value('hello');
  assert.equal(await seen, 'hello');
  await watcher.cancel();

  const lock = client.lock('my-lock');
  await lock.acquire();
  assert.ok((await client.getAll().prefix('my-lock').keys()).length >= 1);
  await lock.release();
});
