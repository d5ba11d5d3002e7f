// etcd_mvcc_{range,put,delete,txn}_total (what the dashboard's reads/s and writes/s come from)
// and etcd_debugging_mvcc_keys_total (keys that exist) move the same way on tsetcd as on a real
// etcd 3.4.23 for the same etcdctl commands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startEtcd, startTsetcd } from './harness.js';

const names = ['etcd_mvcc_range_total', 'etcd_mvcc_put_total', 'etcd_mvcc_delete_total', 'etcd_mvcc_txn_total', 'etcd_debugging_mvcc_keys_total'];

async function counters(client: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${client}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const n of names) {
    const m = new RegExp(`^${n} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `${n} is exported by ${client}`);
    out[n] = Number(m[1]);
  }
  return out;
}

function etcdctl(client: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = execFile('etcdctl', ['--endpoints', client, ...args], (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve()));
    if (input !== undefined) c.stdin!.end(input);
  });
}

test('mvcc operation counters: the same deltas as etcd for put, get, del and txn', async (t) => {
  const [etcd, ts] = await Promise.all([startEtcd(t), startTsetcd(t)]);
  const deltas = await Promise.all(
    [etcd.client, ts.client].map(async (c) => {
      const before = await counters(c);
      await etcdctl(c, ['put', 'a', '1']);
      await etcdctl(c, ['put', 'b', '2']);
      await etcdctl(c, ['put', 'b', '2b']);
      await etcdctl(c, ['del', 'missing']);
      await etcdctl(c, ['get', 'a']);
      await etcdctl(c, ['get', '', '--prefix']);
      await etcdctl(c, ['del', 'b']);
      await etcdctl(c, ['txn'], 'value("a") = "1"\n\nput c 3\nget a\n\n\n');
      const after = await counters(c);
      return Object.fromEntries(names.map((n) => [n, after[n] - before[n]]));
    }),
  );
  // etcd counts the txn's compare as a range too
  // (keys: a and b created, b put again, b deleted, c created by the txn)
  assert.deepEqual(deltas[0], { etcd_mvcc_range_total: 4, etcd_mvcc_put_total: 4, etcd_mvcc_delete_total: 2, etcd_mvcc_txn_total: 1, etcd_debugging_mvcc_keys_total: 2 });
  assert.deepEqual(deltas[1], deltas[0]);
});
