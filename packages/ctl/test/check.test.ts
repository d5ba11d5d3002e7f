// check perf / check datascale against a real etcd: argument errors and the non-empty-prefix
// refusal match etcdctl (full runs take a minute and are checked by hand).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtcdServer, run, runInProcess } from './twin-etcd.js';

test('check perf/datascale', async (t) => {
  const etcd = new EtcdServer('check');
  t.after(() => etcd.stop());
  await etcd.start();
  const ep = ['--endpoints', etcd.endpoint];
  await run('etcdctl', [...ep, 'put', '/etcdctl-check-perf/x', '1']);
  for (const args of [['check', 'perf', '--load', 'huge'], ['check', 'datascale', '--load=x'], ['check', 'perf'], ['check', 'perf', '--load', 'small'], ['check']]) {
    const [real, ours] = await Promise.all([run('etcdctl', [...ep, ...args]), runInProcess([...ep, ...args])]);
    assert.deepEqual(ours, real, args.join(' '));
  }

  // A full datascale run (10000 puts) is exercised by hand; here only its refusal of a used prefix.
  await run('etcdctl', [...ep, 'put', '/etcdctl-check-datascale/x', '1']);
  const [real, ours] = await Promise.all([run('etcdctl', [...ep, 'check', 'datascale']), runInProcess([...ep, 'check', 'datascale'])]);
  assert.deepEqual(ours, real);
});
