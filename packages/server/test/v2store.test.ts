// The v2 store alone (no member): etcd's v2store semantics for watchers, the event history, TTL
// expiry on a clock the test moves, refresh, compare failures, and the snapshot JSON round trip.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V2Store, permanent, maxPathDepth } from '../src/v2store/store.js';
import { V2Error } from '../src/v2store/errors.js';
import { eventJson, type V2Event } from '../src/v2store/event.js';
import { recoverStore, saveStore } from '../src/v2store/snapshot-json.js';
import { touchesV2Store } from '../src/etcdserver/v2-apply.js';
import { tsetcdpb } from '@tsetcd/proto';

const sec = 1_000_000_000n;

function clockStore(): { s: V2Store; clock: { now: bigint } } {
  const clock = { now: 1_800_000_000n * sec };
  return { s: new V2Store(['/0', '/1'], () => clock.now), clock };
}

function code(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof V2Error) return e.errorCode;
    throw e;
  }
  return 0;
}

test('watchers: key, recursive, hidden children, deleted directories, one event unless streaming', () => {
  const { s } = clockStore();
  const got: Record<string, V2Event[]> = { key: [], rec: [], stream: [], below: [] };
  s.watch('/1/d/k', false, false, 0).onEvent((e) => got.key.push(e));
  s.watch('/1/d', true, false, 0).onEvent((e) => got.rec.push(e));
  s.watch('/1/d', true, true, 0).onEvent((e) => got.stream.push(e));
  s.watch('/1/d/x/y', false, false, 0).onEvent((e) => got.below.push(e));
  s.set('/1/d/_hidden', false, 'h', permanent);
  assert.equal(got.rec.length, 0, 'a hidden key does not wake a recursive watcher above it');
  s.set('/1/d/k', false, 'v', permanent);
  s.set('/1/d/k', false, 'w', permanent);
  assert.deepEqual(got.key.map((e) => e.node.value), ['v'], 'a plain watcher gets one event');
  assert.deepEqual(got.rec.map((e) => e.node.value), ['v']);
  assert.deepEqual(got.stream.map((e) => e.node.value), ['v', 'w']);
  s.delete('/1/d', true, true);
  assert.equal(got.stream.at(-1)!.action, 'delete');
  assert.equal(got.below.length, 0, 'nothing existed below');
  assert.equal(s.hub.count, 2, 'the stream watcher and the one below stay');
});

test('history: a waitIndex in the past is answered from it, one older than 1000 events is cleared', () => {
  const { s } = clockStore();
  s.set('/1/a', false, '1', permanent);
  const w = s.watch('/1/a', false, false, 1);
  let first: V2Event | undefined;
  w.onEvent((e) => (first = e));
  assert.equal(first?.node.value, '1');
  assert.equal(first?.etcdIndex, 1);
  for (let i = 0; i < 1000; i++) s.set('/1/b', false, String(i), permanent);
  const err = (() => {
    try {
      s.watch('/1/a', false, false, 1);
    } catch (e) {
      return e as V2Error;
    }
  })();
  assert.equal(err?.errorCode, 401);
  assert.equal(err?.cause, 'the requested history has been cleared [2/1]');
  assert.equal(err?.index, 1001);
});

test('TTL: expiry at the cutoff, refresh keeps the value without waking watchers, update drops the TTL', () => {
  const { s, clock } = clockStore();
  const e = s.set('/1/t', false, 'v', { expireTime: clock.now + 10n * sec });
  assert.equal(e.node.ttl, 10);
  clock.now += 9n * sec + 1n;
  assert.equal(s.get('/1/t', false, false).node.ttl, 1, 'the seconds left round up');
  const seen: string[] = [];
  s.watch('/1/t', false, true, 0).onEvent((ev) => seen.push(ev.action));
  const r = s.set('/1/t', false, '', { expireTime: clock.now + 10n * sec, refresh: true });
  assert.equal(r.node.value, 'v');
  assert.equal(r.refresh, true);
  assert.deepEqual(seen, [], 'a refresh wakes no watcher');
  s.deleteExpiredKeys(clock.now + 5n * sec);
  assert.equal(s.get('/1/t', false, false).node.value, 'v');
  s.deleteExpiredKeys(clock.now + 10n * sec);
  // a stream watcher of the key gets the event twice, as on etcd 3.4.23: once as the removed
  // node, once as the event's key
  assert.deepEqual(seen, ['expire', 'expire']);
  assert.equal(code(() => s.get('/1/t', false, false)), 100);
  s.set('/1/u', false, 'x', { expireTime: clock.now + sec });
  s.update('/1/u', 'y', permanent);
  assert.equal(s.hasTtlKeys(), false);
  s.deleteExpiredKeys(clock.now + 100n * sec);
  assert.equal(s.get('/1/u', false, false).node.value, 'y');
});

test('refusals: compare failures, files as directories, read-only roots, non-empty dirs, depth', () => {
  const { s } = clockStore();
  s.set('/1/f', false, 'v', permanent);
  assert.equal(code(() => s.compareAndSwap('/1/f', 'x', 0n, 'n', permanent)), 101);
  assert.throws(() => s.compareAndSwap('/1/f', 'x', 7n, 'n', permanent), (e: V2Error) => e.cause === '[x != v] [7 != 1]');
  assert.equal(code(() => s.set('/1/f/child', false, 'v', permanent)), 104);
  assert.equal(code(() => s.create('/1/f', false, 'v', false, permanent)), 105);
  assert.equal(code(() => s.delete('/1', true, true)), 107);
  s.create('/1/dir/a', false, 'v', false, permanent);
  assert.equal(code(() => s.delete('/1/dir', true, false)), 108);
  assert.equal(code(() => s.delete('/1/dir', false, false)), 102);
  assert.equal(code(() => s.set('/1/' + 'd/'.repeat(maxPathDepth) + 'k', false, 'v', permanent)), 209);
  assert.equal(s.stats.get('compareAndSwapFail'), 2);
});

test('snapshot JSON: the tree, TTLs, counters and history come back', () => {
  const { s, clock } = clockStore();
  s.set('/1/a', false, 'x<&>', permanent);
  s.create('/1/q', false, 'in-order', true, permanent);
  s.set('/1/t', false, 'ttl', { expireTime: clock.now + 5n * sec + 123n });
  const data = saveStore(s);
  const { s: r } = clockStore();
  recoverStore(r, data);
  assert.equal(r.currentIndex, s.currentIndex);
  assert.equal(eventJson(r.get('/1', true, true), '/1'), eventJson(s.get('/1', true, true), '/1'));
  assert.equal(r.hasTtlKeys(), true);
  r.deleteExpiredKeys(clock.now + 6n * sec);
  assert.equal(code(() => r.get('/1/t', false, false)), 100);
  let old: V2Event | undefined;
  r.watch('/1/a', false, false, 1).onEvent((e) => (old = e));
  assert.equal(old?.node.value, 'x<&>');
  assert.equal(r.stats.get('setsSuccess'), s.stats.get('setsSuccess'));
  // an empty snapshot (a data dir from before the v2 store) is an empty store
  recoverStore(r, new Uint8Array(0));
  assert.equal(r.currentIndex, 0);
});

test('replay filter: only entries with a v2 request, member attributes or the cluster version touch the v2 store', () => {
  const enc = (r: Partial<tsetcdpb.InternalRaftRequest>) => tsetcdpb.InternalRaftRequest.encode(tsetcdpb.InternalRaftRequest.fromPartial({ header: { ID: 7n }, ...r })).finish();
  assert.equal(touchesV2Store(enc({ put: { key: Buffer.from('k'), value: Buffer.alloc(300, 1) } as never })), false);
  assert.equal(touchesV2Store(enc({ leaseGrant: { TTL: 5n, ID: 1n } })), false);
  assert.equal(touchesV2Store(enc({ v2: { Method: 'PUT', Path: '/1/a' } as never })), true);
  assert.equal(touchesV2Store(enc({ clusterVersionSet: { ver: '3.4.0' } })), true);
  assert.equal(touchesV2Store(enc({ clusterMemberAttrSet: { memberID: 1n, memberAttributes: { name: 'a', clientUrls: [] } } })), true);
  assert.equal(touchesV2Store(Uint8Array.from([0x0a, 0x05, 0x01])), true, 'a truncated entry is left to the full decode');
});

test("Go's path.Clean: clean paths as they are, the rest resolved", async () => {
  const { cleanPath, joinPath } = await import('../src/v2store/go-path.js');
  const cases: Array<[string, string]> = [
    ['/', '/'], ['/a/b', '/a/b'], ['/a/b/', '/a/b'], ['//a//b', '/a/b'], ['/a/./b', '/a/b'], ['/a/../b', '/b'],
    ['/..', '/'], ['/a/..', '/'], ['/a/.', '/a'], ['/.a/..b/...', '/.a/..b/...'], ['', '.'], ['a/../..', '..'], ['./', '.'],
  ];
  for (const [in_, out] of cases) assert.equal(cleanPath(in_), out, in_);
  assert.equal(joinPath('/1', '/../0'), '/0');
  assert.equal(joinPath('/1', ''), '/1');
});

test("the leader's follower stats: etcd's running average and deviation, the untouched minimum as Go prints it", async () => {
  const { LeaderStats } = await import('../src/etcdserver/follower-stats.js');
  const ls = new LeaderStats();
  const empty = JSON.parse(ls.json(1n, [2n]).replace('9223372036854775808', '-1'));
  assert.deepEqual(empty, { leader: '1', followers: { '2': { latency: { current: 0, average: 0, standardDeviation: 0, minimum: -1, maximum: 0 }, counts: { fail: 0, success: 0 } } } });
  assert.match(ls.json(1n, [2n]), /"minimum":9223372036854775808,/);
  ls.heartbeatSent(2n);
  ls.heartbeatSent(2n);
  ls.heartbeatAnswered(2n);
  ls.heartbeatAnswered(2n);
  ls.unreachable(2n);
  const f = JSON.parse(ls.json(1n, [2n])).followers['2'];
  assert.deepEqual(f.counts, { fail: 1, success: 1 }, 'one sample per answered heartbeat, a second answer without a heartbeat counts nothing');
  assert.ok(f.latency.minimum === f.latency.current && f.latency.average === f.latency.current && f.latency.standardDeviation === 0);
});
