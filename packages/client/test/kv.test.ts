import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import {
  Client,
  CompactedError,
  EmptyKeyError,
  FutureRevisionError,
  DuplicateKeyError,
  LeaseNotFoundError,
  ClientClosedError,
  compare,
  op,
  prefixEnd,
} from '../src/index.js';

test('kv against a real server', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { size: 1, bin: targetBin });
  const client = new Client({ endpoints: cluster.endpoints });
  t.after(() => client.close());

  await t.test('put / get / prevKv / delete', async () => {
    const p1 = await client.put('/kv/a', 'one');
    assert.equal(typeof p1.revision, 'bigint');
    assert.equal(p1.prevKv, undefined);
    const p2 = await client.put('/kv/a', 'two', { prevKv: true });
    assert.equal(p2.revision, p1.revision + 1n);
    assert.equal(p2.prevKv?.value.toString(), 'one');
    const g = await client.get('/kv/a');
    assert.equal(g.kvs.length, 1);
    assert.equal(g.count, 1n);
    assert.equal(g.kvs[0].value.toString(), 'two');
    assert.equal(g.kvs[0].version, 2n);
    assert.equal(g.kvs[0].createRevision, p1.revision);
    assert.equal(g.kvs[0].modRevision, p2.revision);
    const d = await client.delete('/kv/a', { prevKv: true });
    assert.equal(d.deleted, 1n);
    assert.equal(d.prevKvs[0].value.toString(), 'two');
    assert.equal((await client.get('/kv/a')).kvs.length, 0);
  });

  await t.test('range options: prefix, rangeEnd, fromKey, limit, sort, keysOnly, countOnly, revision', async () => {
    for (const k of ['b', 'a', 'c', 'd']) await client.put(`/r/${k}`, `v-${k}`);
    await client.put('/s/x', 'outside');
    const all = await client.get('/r/', { prefix: true });
    assert.deepEqual(all.kvs.map((kv) => kv.key.toString()), ['/r/a', '/r/b', '/r/c', '/r/d']);
    const ranged = await client.get('/r/b', { rangeEnd: '/r/d' });
    assert.deepEqual(ranged.kvs.map((kv) => kv.key.toString()), ['/r/b', '/r/c']);
    const from = await client.get('/r/c', { fromKey: true });
    assert.deepEqual(from.kvs.map((kv) => kv.key.toString()), ['/r/c', '/r/d', '/s/x']);
    const limited = await client.get('/r/', { prefix: true, limit: 2 });
    assert.equal(limited.kvs.length, 2);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 4n);
    const desc = await client.get('/r/', { prefix: true, sort: { target: 'create', order: 'descend' } });
    assert.deepEqual(desc.kvs.map((kv) => kv.key.toString()), ['/r/d', '/r/c', '/r/a', '/r/b']);
    const byValue = await client.get('/r/', { prefix: true, sort: { target: 'value', order: 'descend' }, limit: 1 });
    assert.equal(byValue.kvs[0].value.toString(), 'v-d');
    const keysOnly = await client.get('/r/', { prefix: true, keysOnly: true });
    assert.equal(keysOnly.kvs.length, 4);
    assert.ok(keysOnly.kvs.every((kv) => kv.value.length === 0));
    const countOnly = await client.get('/r/', { prefix: true, countOnly: true });
    assert.equal(countOnly.kvs.length, 0);
    assert.equal(countOnly.count, 4n);
    const serial = await client.get('/r/a', { serializable: true });
    assert.equal(serial.kvs[0].value.toString(), 'v-a');
    const before = await client.put('/r/a', 'changed');
    const old = await client.get('/r/a', { revision: before.revision - 1n });
    assert.equal(old.kvs[0].value.toString(), 'v-a');
    const maxCreate = await client.get('/r/', { prefix: true, maxCreateRevision: all.kvs[1].createRevision });
    assert.deepEqual(maxCreate.kvs.map((kv) => kv.key.toString()), ['/r/b']);
    await assert.rejects(client.get('/r/a', { prefix: true, fromKey: true }), { code: 'ETCD_ERR_INVALID_ARGUMENT' });
  });

  await t.test('lease, ignoreValue and ignoreLease', async () => {
    const lease = await client.lease.grant(60);
    await client.put('/il/k', 'v1', { lease: lease.id });
    assert.equal((await client.get('/il/k')).kvs[0].lease, lease.id);
    await client.put('/il/k', '', { ignoreValue: true });
    const g = await client.get('/il/k');
    assert.equal(g.kvs[0].value.toString(), 'v1');
    assert.equal(g.kvs[0].lease, 0n, 'a put without lease detaches the key');
    await client.put('/il/k', 'v2', { lease: lease.id });
    await client.put('/il/k', 'v3', { ignoreLease: true });
    const g2 = await client.get('/il/k');
    assert.equal(g2.kvs[0].value.toString(), 'v3');
    assert.equal(g2.kvs[0].lease, lease.id);
    await assert.rejects(client.put('/il/missing', '', { ignoreValue: true }), { code: 'ETCD_ERR_KEY_NOT_FOUND' });
    await assert.rejects(client.put('/il/k', 'x', { lease: 0x7777n }), LeaseNotFoundError);
    await client.lease.revoke(lease.id);
    assert.equal((await client.get('/il/k')).kvs.length, 0);
  });

  await t.test('txn: compare helpers, then / else, nested results', async () => {
    await client.put('/t/k', 'v');
    const cur = await client.get('/t/k');
    const ok = await client
      .txn()
      .if(compare.value('/t/k', '=', 'v'), compare.version('/t/k', '>', 0), compare.modRevision('/t/k', '=', cur.kvs[0].modRevision))
      .then(op.put('/t/k', 'w', { prevKv: true }), op.get('/t/k'), op.delete('/t/none'))
      .else(op.get('/t/k'))
      .commit();
    assert.equal(ok.succeeded, true);
    assert.equal(ok.results.length, 3);
    const [put, get, del] = ok.results;
    assert.equal(put.type, 'put');
    assert.equal(put.type === 'put' && put.prevKv?.value.toString(), 'v');
    assert.equal(get.type === 'get' && get.kvs[0].value.toString(), 'w');
    assert.equal(del.type === 'delete' && del.deleted, 0n);
    const failed = await client
      .txn()
      .if(compare.createRevision('/t/k', '=', 0))
      .then(op.put('/t/k', 'never'))
      .else(op.get('/t/k'), op.txn([compare.value('/t/k', '!=', 'zzz')], [op.get('/t/k', { keysOnly: true })]))
      .commit();
    assert.equal(failed.succeeded, false);
    assert.equal(failed.results[0].type === 'get' && failed.results[0].kvs[0].value.toString(), 'w');
    const nested = failed.results[1];
    assert.equal(nested.type, 'txn');
    assert.equal(nested.type === 'txn' && nested.succeeded, true);
    await assert.rejects(client.txn().then(op.put('/t/dup', 'a'), op.put('/t/dup', 'b')).commit(), DuplicateKeyError);
    assert.throws(() => client.txn().then().if(), { code: 'ETCD_ERR_INVALID_ARGUMENT' });
    const empty = await client.txn().commit();
    assert.equal(empty.succeeded, true);
  });

  await t.test('compact and typed revision errors', async () => {
    const r1 = await client.put('/c/k', '1');
    const r2 = await client.put('/c/k', '2');
    await client.compact(r2.revision, { physical: true });
    const err = await client.get('/c/k', { revision: r1.revision }).then(
      () => assert.fail('expected CompactedError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CompactedError);
    assert.equal(err.code, 'ETCD_ERR_COMPACTED');
    assert.equal(err.message, 'etcdserver: mvcc: required revision has been compacted');
    assert.equal(err.grpcCode, 11); // OUT_OF_RANGE
    await assert.rejects(client.get('/c/k', { revision: r2.revision + 1000n }), FutureRevisionError);
    await assert.rejects(client.put('', 'x'), EmptyKeyError);
    await assert.rejects(client.compact(r1.revision), CompactedError);
  });

  await t.test('raw layer returns etcd responses unchanged', async () => {
    await client.put(Buffer.from([0x2f, 0x62, 0xff]), Buffer.from([0, 1, 2]));
    const r = await client.raw.kv.range({ key: Buffer.from([0x2f, 0x62]), rangeEnd: prefixEnd(Buffer.from([0x2f, 0x62])) });
    assert.equal(r.kvs.length, 1);
    assert.deepEqual([...r.kvs[0].value], [0, 1, 2]);
    assert.ok(r.header !== undefined && r.header.clusterId > 0n && r.header.memberId > 0n);
    const members = await client.raw.cluster.memberList();
    assert.equal(members.members.length, 1);
    const st = await client.raw.maintenance.status({}, { endpoint: cluster.endpoints[0] });
    assert.match(st.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(prefixEnd('/dir/'), Buffer.from('/dir0'));
    assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
  });

  await t.test('timeouts and closed clients', async () => {
    const other = new Client({ endpoints: cluster.endpoints });
    await other.put('/closed/k', 'v');
    await other.close();
    await assert.rejects(other.get('/closed/k'), ClientClosedError);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(client.get('/closed/k', { signal: ac.signal }), { code: 'ETCD_ERR_CANCELED' });
  });
});
