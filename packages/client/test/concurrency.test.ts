import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import { waitFor } from '../../../test/kit/wait.js';
import {
  Client,
  Election,
  ElectionNoLeaderError,
  ElectionNotLeaderError,
  Mutex,
  Session,
  type GetResult,
} from '../src/index.js';


test('concurrency against a real server', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { size: 1, bin: targetBin });
  const c1 = new Client({ endpoints: cluster.endpoints });
  const c2 = new Client({ endpoints: cluster.endpoints });
  t.after(() => c1.close());
  t.after(() => c2.close());
  /** Waits until `n` contenders (lock waiters, candidates) have their key under `prefix`. */
  const queued = (prefix: string, n: number) => waitFor(`${n} keys under ${prefix}`, async () => (await c1.get(prefix, { prefix: true })).kvs.length >= n);

  await t.test('session: a kept-alive lease with TTL 60 by default, revoked on close', { timeout: 30_000 }, async () => {
    const s = await Session.create(c1);
    assert.equal(s.ttl, 60);
    const ttl = await c1.lease.timeToLive(s.lease);
    assert.equal(ttl.grantedTtl, 60n);
    await c1.put('/sess/k', 'v', { lease: s.lease });
    await s.close();
    assert.equal(s.isDone, true);
    assert.equal((await c1.get('/sess/k')).count, 0n);
    const short = await Session.create(c1, { ttl: 1 });
    await c1.lease.revoke(short.lease);
    await short.done;
    assert.equal(short.lostError?.code, 'ETCD_ERR_LEASE_LOST');
    const c3 = new Client({ endpoints: cluster.endpoints });
    const s3 = await Session.create(c3, { ttl: 5 });
    await c3.close();
    await s3.done;
    assert.equal(s3.isDone, true);
    assert.equal(s3.lostError, undefined, 'closed, not lost');
    await c1.lease.revoke(s3.lease);
  });

  await t.test('mutex: two clients never hold the lock together; key layout matches Go', { timeout: 30_000 }, async () => {
    const s1 = await Session.create(c1, { ttl: 10 });
    const s2 = await Session.create(c2, { ttl: 10 });
    const m1 = new Mutex(s1, '/lock/counter');
    const m2 = new Mutex(s2, '/lock/counter');
    await c1.put('/counter', '0');
    let holders = 0;
    let maxHolders = 0;
    const rounds = 10;
    const worker = async (m: Mutex, c: Client): Promise<void> => {
      for (let i = 0; i < rounds; i++) {
        await m.lock();
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        // A non-atomic read-modify-write: only safe under mutual exclusion.
        const cur = Number((await c.get('/counter')).kvs[0].value.toString());
        // widen the read-modify-write window so the other worker would slip in if the lock let
        // it: the race the mutex must prevent is the behaviour under test, not a wait for an event
        await sleep(2);
        const guarded = await c.txn().if(m.isOwner()).then(op_put('/counter', String(cur + 1))).commit();
        assert.equal(guarded.succeeded, true);
        holders--;
        await m.unlock();
      }
    };
    const op_put = (k: string, v: string) => ({ request: { $case: 'requestPut' as const, value: { key: Buffer.from(k), value: Buffer.from(v), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } } });
    await Promise.all([worker(m1, c1), worker(m2, c2)]);
    assert.equal(maxHolders, 1);
    assert.equal((await c1.get('/counter')).kvs[0].value.toString(), String(2 * rounds));
    await m1.lock();
    assert.equal(m1.key, `/lock/counter/${s1.lease.toString(16)}`);
    const held = await c1.get('/lock/counter/', { prefix: true });
    assert.equal(held.kvs.length, 1);
    assert.equal(held.kvs[0].lease, s1.lease);
    // m2 queues behind m1 and gets the lock when m1's session ends.
    let acquired = false;
    const waiting = m2.lock().then(() => (acquired = true));
    await queued('/lock/counter/', 2);
    assert.equal(acquired, false);
    assert.equal((await c1.get('/lock/counter/', { prefix: true })).kvs.length, 2);
    await s1.close();
    await waiting;
    assert.equal(acquired, true);
    await m2.unlock();
    await s2.close();
  });

  await t.test('mutex: an aborted lock attempt removes its key', { timeout: 30_000 }, async () => {
    const s1 = await Session.create(c1, { ttl: 10 });
    const s2 = await Session.create(c2, { ttl: 10 });
    const m1 = new Mutex(s1, '/lock/abort');
    const m2 = new Mutex(s2, '/lock/abort');
    await m1.lock();
    const ac = new AbortController();
    const locking = m2.lock({ signal: ac.signal });
    await queued('/lock/abort/', 2); // m2 waits behind m1 with its own key
    ac.abort();
    await assert.rejects(locking, { code: 'ETCD_ERR_CANCELED' });
    const keys = await c1.get('/lock/abort/', { prefix: true });
    assert.deepEqual(keys.kvs.map((kv) => kv.key.toString()), [m1.key]);
    await m1.unlock();
    await s1.close();
    await s2.close();
  });

  await t.test('election: campaign, leader, proclaim, resign, observe', { timeout: 30_000 }, async () => {
    const s1 = await Session.create(c1, { ttl: 10 });
    const s2 = await Session.create(c2, { ttl: 10 });
    const e1 = new Election(s1, '/elect/job');
    const e2 = new Election(s2, '/elect/job');
    await assert.rejects(e1.leader(), ElectionNoLeaderError);
    await assert.rejects(e1.proclaim('x'), ElectionNotLeaderError);
    const observer = new Election(s2, '/elect/job').observe();
    const seen: string[] = [];
    const observed = (async () => {
      for await (const r of observer) seen.push((r as GetResult).kvs[0].value.toString());
    })();
    await e1.campaign('one');
    assert.equal(e1.key, `/elect/job/${s1.lease.toString(16)}`);
    assert.equal((await e2.leader()).kvs[0].value.toString(), 'one');
    let e2Leads = false;
    const campaign2 = e2.campaign('two').then(() => (e2Leads = true));
    await queued('/elect/job/', 2);
    assert.equal(e2Leads, false);
    await e1.proclaim('one-again');
    assert.equal((await e2.leader()).kvs[0].value.toString(), 'one-again');
    await e1.resign();
    await campaign2;
    assert.equal(e2Leads, true);
    assert.equal((await e1.leader()).kvs[0].value.toString(), 'two');
    await assert.rejects(e1.proclaim('stale'), ElectionNotLeaderError);
    // Leadership also changes when the leader's session dies.
    const e3 = new Election(s1, '/elect/job');
    const campaign3 = e3.campaign('three');
    await queued('/elect/job/', 2); // e3 waits behind e2
    // an observer reports the leader it finds after each change (as Go's Observe): a leader that
    // is gone by then is skipped, so let it report e2 before e2's session ends
    await waitFor('the observer to see the second leader', () => seen.includes('two'));
    await s2.close();
    await campaign3;
    assert.equal((await e1.leader()).kvs[0].value.toString(), 'three');
    await waitFor('the observer to see the last leader', () => seen.includes('three'));
    await observer.stop();
    await observed;
    assert.deepEqual(seen, ['one', 'one-again', 'two', 'three']);
    await s1.close();
  });

  await t.test('interop: etcdctl lock (Go clientv3/concurrency) and TS Mutex exclude each other', { timeout: 30_000 }, async () => {
    const s = await Session.create(c1, { ttl: 10 });
    const m = new Mutex(s, '/interop/lock');
    await m.lock();
    const go = spawn('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, 'lock', '/interop/lock'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void go.kill('SIGKILL'));
    let out = '';
    go.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const acquired = new Promise<void>((res) => go.stdout.on('data', () => res()));
    // etcdctl queues its own key once it has started and granted its session's lease (slow on
    // a loaded machine): wait for it, then it must still be waiting.
    await queued('/interop/lock/', 2);
    const keys = await c1.get('/interop/lock/', { prefix: true });
    assert.equal(keys.kvs.length, 2, 'both contenders use <prefix>/<lease hex> keys');
    assert.ok(keys.kvs.every((kv) => /^\/interop\/lock\/[0-9a-f]+$/.test(kv.key.toString())), 'both contenders use <prefix>/<lease hex> keys');
    assert.equal(out, '', 'etcdctl waits while TS holds the lock');
    await m.unlock();
    await acquired;
    assert.match(out, /^\/interop\/lock\/[0-9a-f]+\n/);
    // Now Go holds it: TS must wait until etcdctl exits (SIGINT: it unlocks and revokes).
    let tsHas = false;
    const tsWait = m.lock().then(() => (tsHas = true));
    await queued('/interop/lock/', 2);
    assert.equal(tsHas, false);
    const exited = new Promise((r) => go.once('exit', r));
    go.kill('SIGINT');
    await exited;
    await tsWait;
    assert.equal(tsHas, true);
    await m.unlock();
    await s.close();
  });
  await t.test('interop: etcdctl elect (Go) and TS Election see the same leader', { timeout: 30_000 }, async () => {
    const go = spawn('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, 'elect', '/interop/elect', 'go-value'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void go.kill('SIGKILL'));
    let out = '';
    const elected = new Promise<void>((res) => go.stdout.on('data', (b: Buffer) => ((out += b.toString()), out.includes('go-value') && res())));
    await elected;
    // etcdctl prints the leader key (<prefix>/<lease hex>) and the value.
    assert.match(out, /^\/interop\/elect\/[0-9a-f]+\ngo-value\n/);
    const s = await Session.create(c1, { ttl: 10 });
    const e = new Election(s, '/interop/elect');
    assert.equal((await e.leader()).kvs[0].value.toString(), 'go-value');
    let tsLeads = false;
    const campaign = e.campaign('ts-value').then(() => (tsLeads = true));
    await queued('/interop/elect/', 2);
    assert.equal(tsLeads, false, 'Go leads, TS waits');
    const exited = new Promise((r) => go.once('exit', r));
    go.kill('SIGINT'); // etcdctl resigns and revokes its session
    await exited;
    await campaign;
    assert.equal((await e.leader()).kvs[0].value.toString(), 'ts-value');
    await e.resign();
    await s.close();
  });
});
