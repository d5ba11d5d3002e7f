// A watch outlives an etcd restart: etcdctl (clientv3) and tsetcdctl both reconnect and deliver
// the events written after the restart, with nothing lost or repeated.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { EtcdServer, run, tsetcdctlBin } from './twin-etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

function watcher(bin: string, args: string[]) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.resume();
  const sees = (re: RegExp) => waitFor(`${bin} to print ${re} (so far ${JSON.stringify(out)})`, () => re.test(out), 30_000, 50);
  const stop = () =>
    new Promise<string>((resolve) => {
      child.once('exit', () => resolve(out));
      child.kill('SIGTERM');
    });
  return { sees, stop, exited: () => child.exitCode !== null };
}

test('watch resumes after the server restarts', async (t) => {
  const etcd = new EtcdServer('resume');
  t.after(() => etcd.stop());
  await etcd.start();
  const ep = ['--endpoints', etcd.endpoint];
  const first = await run('etcdctl', [...ep, 'put', 'r/0', 'before', '-w', 'json']);
  const rev = JSON.parse(first.stdout).header.revision as number;
  const args = [...ep, 'watch', 'r/', '--prefix', '--rev', String(rev)];
  const real = watcher('etcdctl', args);
  const ours = watcher(tsetcdctlBin, args);
  await Promise.all([real.sees(/before\n/), ours.sees(/before\n/)]);

  await etcd.kill();
  // A negative check, so the wait is the behaviour: the watch must survive a stretch of failed
  // reconnects (several back-off rounds) with the server gone; no event marks "still retrying".
  await new Promise((res) => setTimeout(res, 1500));
  assert.ok(!ours.exited(), 'tsetcdctl watch must keep running while etcd is down');
  await etcd.start();
  await run('etcdctl', [...ep, 'put', 'r/1', 'after']);
  await run('etcdctl', [...ep, 'del', 'r/0']);
  await Promise.all([real.sees(/DELETE\nr\/0\n\n$/), ours.sees(/DELETE\nr\/0\n\n$/)]);
  const [realOut, oursOut] = await Promise.all([real.stop(), ours.stop()]);
  assert.equal(oursOut, 'PUT\nr/0\nbefore\nPUT\nr/1\nafter\nDELETE\nr/0\n\n');
  assert.equal(oursOut, realOut);
});
