// lock and elect: tsetcdctl and the real etcdctl contend for the same lock / election on one
// real etcd (same key layout), and print the same things.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { EtcdServer, run, tsetcdctlBin } from './twin-etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

function startHolder(bin: string, args: string[]): { firstLine: Promise<string>; stop: () => Promise<number | null> } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
  let out = '';
  const firstLine = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} ${args.join(' ')}: no output`)), 20000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]);
      }
    });
  });
  child.stderr.resume();
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGINT');
    });
  return { firstLine, stop };
}

test('lock: etcdctl and tsetcdctl exclude each other on the same lock', async (t) => {
  const etcd = new EtcdServer('lock');
  t.after(() => etcd.stop());
  await etcd.start();
  const ep = ['--endpoints', etcd.endpoint];
  /** Waits until `n` contenders have their key under `prefix` (a waiter queues its own key). */
  const queued = (prefix: string, n: number): Promise<void> =>
    waitFor(`${n} keys under ${prefix}`, async () =>
      (await run('etcdctl', [...ep, 'get', prefix, '--prefix', '--keys-only'])).stdout.split('\n').filter(Boolean).length >= n, 20_000, 50);

  // Bad arguments first.
  for (const args of [['lock'], ['elect'], ['elect', 'x'], ['elect', '-l', 'x', 'y']]) {
    const [real, ours] = await Promise.all([run('etcdctl', [...ep, ...args]), run(tsetcdctlBin, [...ep, ...args])]);
    assert.deepEqual(ours, real, args.join(' '));
  }

  // etcdctl holds the lock; tsetcdctl's `lock ... -- cmd` must wait for it.
  const holder = startHolder('etcdctl', [...ep, 'lock', 'shared']);
  const heldKey = await holder.firstLine;
  assert.match(heldKey, /^shared\/[0-9a-f]+$/);
  let waiterDone = false;
  const waiter = run(tsetcdctlBin, [...ep, 'lock', 'shared', '--', 'sh', '-c', 'echo "got $ETCD_LOCK_KEY"']).finally(() => (waiterDone = true));
  await queued('shared', 2);
  assert.equal(waiterDone, false, 'tsetcdctl waits while etcdctl holds the lock');
  assert.equal(await holder.stop(), 0);
  const waited = await waiter;
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stdout, /^got shared\/[0-9a-f]+\n$/);
  assert.notEqual(waited.stdout.trim().slice(4), heldKey);

  // And the other way round: tsetcdctl holds, etcdctl waits.
  const ours = startHolder(tsetcdctlBin, [...ep, 'lock', 'shared']);
  assert.match(await ours.firstLine, /^shared\/[0-9a-f]+$/);
  let realWaiterDone = false;
  const realWaiter = run('etcdctl', [...ep, 'lock', 'shared', '--', 'sh', '-c', 'echo got']).finally(() => (realWaiterDone = true));
  await queued('shared', 2); // holder and waiter keys
  const early = await run('etcdctl', [...ep, 'get', 'shared', '--prefix', '--keys-only']);
  assert.equal(early.stdout.split('\n').filter(Boolean).length, 2, 'holder and waiter keys');
  assert.equal(realWaiterDone, false, 'etcdctl waits while tsetcdctl holds the lock');
  assert.equal(await ours.stop(), 0);
  assert.equal((await realWaiter).stdout, 'got\n');

  // elect: tsetcdctl campaigns, both observers see it as leader.
  const leader = startHolder(tsetcdctlBin, [...ep, 'elect', 'vote', 'proposal-1']);
  assert.match(await leader.firstLine, /^vote\/[0-9a-f]+$/);
  const realObserver = startHolder('etcdctl', [...ep, 'elect', '-l', 'vote']);
  const ourObserver = startHolder(tsetcdctlBin, [...ep, 'elect', '-l', 'vote']);
  assert.equal(await ourObserver.firstLine, await realObserver.firstLine);
  await Promise.all([realObserver.stop(), ourObserver.stop()]);
  assert.equal(await leader.stop(), 0);
  const left = await run('etcdctl', [...ep, 'get', 'vote', '--prefix', '--keys-only']);
  assert.equal(left.stdout, '', 'resigned');
});
