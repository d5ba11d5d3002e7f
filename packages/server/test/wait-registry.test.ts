// The proposal wait registry: a waiter is answered by the applied result (or through its
// answer function, whose throw rejects), failed, or expired; each only once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WaitRegistry } from '../src/etcdserver/wait.js';

test('WaitRegistry: trigger resolves, registerAnswer maps the value and rejects with what the map throws', async () => {
  const w = new WaitRegistry<{ resp?: string; err?: Error }>();
  const plain = w.register(1n);
  const answer = (r: { resp?: string; err?: Error }): string => {
    if (r.err) throw r.err;
    return r.resp!;
  };
  const ok = w.registerAnswer(2n, Infinity, answer);
  const bad = w.registerAnswer(3n, Infinity, answer);
  assert.equal(w.size, 3);
  assert.throws(() => w.register(2n), /duplicate request id 2/);
  w.trigger(1n, { resp: 'one' });
  w.trigger(2n, { resp: 'two' });
  w.trigger(3n, { err: new Error('refused') });
  w.trigger(2n, { resp: 'again' }); // answered once only
  assert.deepEqual(await plain, { resp: 'one' });
  assert.equal(await ok, 'two');
  await assert.rejects(bad, /refused/);
  assert.equal(w.size, 0);
});

test('WaitRegistry: fail and expire reject without calling the answer function', async () => {
  const w = new WaitRegistry<number>();
  let calls = 0;
  const a = w.registerAnswer(1n, 10, () => ++calls);
  const b = w.registerAnswer(2n, 1000, () => ++calls);
  const c = w.registerAnswer(3n, 2000, () => ++calls);
  assert.equal(w.expire(500, () => new Error('request timed out')), 1);
  w.fail(2n, new Error('dropped'));
  w.failAll(new Error('stopped'));
  await assert.rejects(a, /request timed out/);
  await assert.rejects(b, /dropped/);
  await assert.rejects(c, /stopped/);
  assert.equal(calls, 0);
});
