import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientRegistry } from '../src/discov/client-registry.js';
import type { Registry } from '../src/discov/registry.js';
import { prefixEnd } from '../src/discov/registry.js';
import { WatchCompactedError } from '../src/errors.js';
import { startEtcd } from './helpers/etcd.js';

// The registry over @tsetcd/client, the one etcd client of @tsetcd/rpc.
const name = 'ClientRegistry';
const make = (hosts: string[]): Registry => new ClientRegistry({ Hosts: hosts });

test(`${name}: lease, put, range, watch, keepalive, revoke against real etcd`, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = make([etcd.endpoint]);
  t.after(() => reg.close());

  const lease = await reg.grant(5);
  assert.equal(typeof lease, 'bigint');
  assert.ok(lease > 0n);
  const rev = await reg.put('svc/a', '10.0.0.1:80', lease);
  assert.ok(rev > 0n);
  await reg.put('svc/b', '10.0.0.2:80');
  await reg.put('svc0', 'outside');
  const { kvs, revision } = await reg.range('svc/', prefixEnd('svc/'));
  assert.deepEqual(kvs.map((k) => [k.key, k.value]), [['svc/a', '10.0.0.1:80'], ['svc/b', '10.0.0.2:80']]);
  assert.equal(kvs[0].lease, lease);
  assert.ok(revision >= rev);

  const watch = reg.watch('svc/', prefixEnd('svc/'), revision + 1n);
  const seen: string[] = [];
  const done = (async () => {
    for await (const batch of watch) {
      for (const e of batch.events) seen.push(`${e.type} ${e.key}`);
      if (seen.length >= 2) watch.stop();
    }
  })();
  await reg.delete('svc/b');
  await reg.revoke(lease); // deletes svc/a
  await done;
  assert.deepEqual(seen.sort(), ['delete svc/a', 'delete svc/b']);

  // keepalive keeps a 2 s lease past its TTL
  const short = await reg.grant(2);
  await reg.put('svc/k', 'x', short);
  let lost = '';
  const keeper = reg.keepAlive(short, 2, (r) => (lost = r));
  // the time is what is under test: the key outlives the lease's TTL only if the keeper renews it
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await reg.range('svc/k')).kvs.length, 1);
  assert.equal(lost, '');
  keeper.stop();

  // a revoked lease is reported lost by its keeper
  const gone = await reg.grant(5);
  const lostP = new Promise<string>((resolve) => reg.keepAlive(gone, 1, resolve));
  await reg.revoke(gone);
  assert.match(await lostP, /expired|not renewed/);
});

test(`${name}: compacted watch fails with WatchCompactedError`, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = make([etcd.endpoint]);
  t.after(() => reg.close());
  await reg.put('c/1', 'a');
  await reg.put('c/1', 'b');
  const rev = await reg.put('c/1', 'c');
  const { execFileSync } = await import('node:child_process');
  execFileSync('etcdctl', ['--endpoints', etcd.endpoint, 'compaction', String(rev)], { env: { ...process.env, ETCDCTL_API: '3' } });
  const watch = reg.watch('c/', 'c0', 1n);
  await assert.rejects(async () => {
    for await (const _ of watch) void _;
  }, (err: unknown) => err instanceof WatchCompactedError && err.compactRevision === rev);
});
