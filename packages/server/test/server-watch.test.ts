// Watch over the real gRPC stream: many watchers on one stream, history catch-up, filters,
// prev_kv, txn events in one response, compaction cancel, progress, cancel, bad requests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { etcdserverpb, mvccpb } from '@tsetcd/proto';
import { startMember, connect, call, b } from './server-helpers.js';
import { waitFor } from '../../../test/kit/wait.js';

const P = etcdserverpb;
type WR = etcdserverpb.WatchResponse;

class Stream {
  readonly got: WR[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly s: ClientDuplexStream<etcdserverpb.WatchRequest, WR>) {
    s.on('data', (r: WR) => {
      this.got.push(r);
      for (const w of this.waiters.splice(0)) w();
    });
    s.on('error', () => undefined);
  }
  send(u: etcdserverpb.WatchRequest['requestUnion']): void {
    this.s.write({ requestUnion: u });
  }
  create(c: Partial<etcdserverpb.WatchCreateRequest>): void {
    this.send({ $case: 'createRequest', value: P.WatchCreateRequest.fromPartial(c) });
  }
  /** waits until pred holds over everything received */
  async until(pred: (got: WR[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.got)) {
      if (Date.now() > deadline) throw new Error(`watch: condition not met; got ${JSON.stringify(this.got, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
  events(id: bigint): etcdserverpb.WatchResponse['events'] {
    return this.got.filter((r) => r.watchId === id).flatMap((r) => r.events);
  }
}

test('watch: create, live events, history, filters, prev_kv, txn batching, cancel', async (t) => {
  const m = await startMember(t);
  const { kv, watch } = connect(t, m.clientUrls[0]);
  const put = (k: string, v: string) => call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(k), value: b(v) }));
  const first = await put('a', '1');
  await put('a', '2');
  const st = new Stream(watch.watch());
  t.after(() => st.s.end());

  st.create({ key: b('a'), startRevision: first.header!.revision, prevKv: true }); // id 0: history
  st.create({ key: b('p/'), rangeEnd: b('p0') }); // id 1: prefix, live
  st.create({ key: b('p/'), rangeEnd: b('p0'), filters: [P.WatchCreateRequest_FilterType.NOPUT] }); // id 2: deletes only
  st.create({ key: b('x'), watchId: 100n }); // id 100: given
  st.create({ key: b('x'), watchId: 100n }); // duplicate
  st.create({ key: b('z'), rangeEnd: b('a') }); // empty range
  await st.until((g) => g.filter((r) => r.created).length === 6);
  const created = st.got.filter((r) => r.created);
  assert.deepEqual(created.slice(0, 4).map((r) => [r.watchId, r.canceled]), [[0n, false], [1n, false], [2n, false], [100n, false]]);
  assert.deepEqual([created[4].watchId, created[4].canceled, created[4].cancelReason], [-1n, true, 'mvcc: duplicate watch ID provided on the WatchStream']);
  assert.deepEqual([created[5].watchId, created[5].canceled, created[5].cancelReason], [-1n, true, 'mvcc: watcher range is empty']);
  assert.equal(created[0].header?.memberId, m.server.memberId);

  await st.until((g) => g.filter((r) => r.watchId === 0n).flatMap((r) => r.events).length === 2);
  const hist = st.events(0n);
  assert.deepEqual(hist.map((e) => e.kv?.value.toString()), ['1', '2']);
  assert.equal(hist[1].prevKv?.value.toString(), '1');

  // a txn's events arrive in one response
  await call(kv.txn.bind(kv), P.TxnRequest.fromPartial({
    success: [
      { request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: b('p/1'), value: b('x') }) } },
      { request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: b('p/2'), value: b('y') }) } },
    ],
  }));
  await call(kv.deleteRange.bind(kv), P.DeleteRangeRequest.fromPartial({ key: b('p/'), rangeEnd: b('p0') }));
  await put('a', '3');
  await st.until((g) => st.events(1n).length === 4 && st.events(2n).length === 2 && st.events(0n).length === 3);
  const txnResp = st.got.find((r) => r.watchId === 1n && r.events.length > 0)!;
  assert.equal(txnResp.events.length, 2);
  assert.equal(txnResp.events[0].kv?.modRevision, txnResp.events[1].kv?.modRevision);
  assert.deepEqual(st.events(2n).map((e) => e.type), [mvccpb.Event_EventType.DELETE, mvccpb.Event_EventType.DELETE]);
  assert.equal(st.events(0n)[2].prevKv?.value.toString(), '2');
  // revisions strictly increase per watcher, no duplicates
  for (const id of [0n, 1n]) {
    const revs = st.events(id).map((e) => e.kv!.modRevision);
    for (let i = 1; i < revs.length; i++) assert.ok(revs[i] >= revs[i - 1]);
  }

  // cancel
  st.send({ $case: 'cancelRequest', value: { watchId: 1n } });
  await st.until((g) => g.some((r) => r.watchId === 1n && r.canceled));
  await put('p/3', 'z');
  await put('x', 'after');
  await st.until(() => st.events(100n).length === 1);
  assert.equal(st.events(1n).length, 4);

  // progress request: answered with watch id -1 and the current revision
  st.send({ $case: 'progressRequest', value: {} });
  await st.until((g) => g.some((r) => r.watchId === -1n && !r.created && !r.canceled));
  const prog = st.got.find((r) => r.watchId === -1n && !r.created)!;
  assert.equal(prog.header?.revision, m.server.store.currentRevision());
});

test('watch: compacted start revision is reported and cancelled; catch-up of many revisions', async (t) => {
  const m = await startMember(t);
  const { kv, watch } = connect(t, m.clientUrls[0]);
  let last = 0n;
  for (let i = 0; i < 30; i++) last = (await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(`k${i}`), value: b('v') }))).header!.revision;
  await call(kv.compact.bind(kv), P.CompactionRequest.fromPartial({ revision: last - 5n, physical: true }));
  const st = new Stream(watch.watch());
  t.after(() => st.s.end());
  st.create({ key: b('k'), rangeEnd: b('l'), startRevision: 2n });
  await st.until((g) => g.some((r) => r.compactRevision !== 0n));
  const c = st.got.find((r) => r.compactRevision !== 0n)!;
  assert.equal(c.compactRevision, last - 5n);
  assert.equal(c.canceled, true);

  // a watcher from the compact revision gets every later event, in order, exactly once
  st.create({ key: b('k'), rangeEnd: b('l'), startRevision: last - 5n });
  await st.until(() => st.events(1n).length === 6);
  assert.deepEqual(st.events(1n).map((e) => e.kv!.modRevision), [0n, 1n, 2n, 3n, 4n, 5n].map((d) => last - 5n + d));
  // and keeps up with a burst of concurrent writes
  await Promise.all(Array.from({ length: 200 }, (_, i) => call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(`kb${i}`), value: b('v') }))));
  await st.until(() => st.events(1n).length === 206);
  const revs = st.events(1n).map((e) => e.kv!.modRevision);
  assert.equal(new Set(revs).size, 206);
  for (let i = 1; i < revs.length; i++) assert.equal(revs[i], revs[i - 1] + 1n);
});

test('watch: progress_notify on an idle watcher', async (t) => {
  const m = await startMember(t, { watchProgressNotifyIntervalMs: 100 });
  const { watch } = connect(t, m.clientUrls[0]);
  const st = new Stream(watch.watch());
  t.after(() => st.s.end());
  st.create({ key: b('idle'), progressNotify: true });
  await st.until((g) => g.filter((r) => r.watchId === 0n && !r.created && r.events.length === 0).length >= 1, 3000);
});

test('watch: a slow reader is buffered by flow control and caught up from history, nothing lost', async (t) => {
  const m = await startMember(t);
  const { kv, watch } = connect(t, m.clientUrls[0]);
  const s = watch.watch();
  s.on('error', () => undefined);
  t.after(() => s.end());
  const got: WR[] = [];
  s.on('data', (r: WR) => got.push(r));
  s.write({ requestUnion: { $case: 'createRequest', value: P.WatchCreateRequest.fromPartial({ key: b('big/'), rangeEnd: b('big0') }) } });
  await waitFor('the watch created', () => got.some((r) => r.created), 20_000);
  s.pause(); // stop reading: HTTP/2 windows fill up, the server must hold back
  const value = Buffer.alloc(16 * 1024, 7);
  const n = 600; // ~10 MB of events, more than the flow-control windows
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(`big/${String(i + j).padStart(4, '0')}`), value }))));
  }
  s.resume();
  await waitFor(`all ${n} events`, () => got.flatMap((r) => r.events).length >= n, 20_000);
  const evs = got.flatMap((r) => r.events);
  assert.equal(evs.length, n);
  const revs = evs.map((e) => e.kv!.modRevision);
  for (let i = 1; i < revs.length; i++) assert.equal(revs[i], revs[i - 1] + 1n, `gap or duplicate at ${i}`);
  assert.ok(evs.every((e) => e.kv!.value.length === value.length));
});

test('watch: fragment splits a large catch-up into responses under --max-request-bytes', async (t) => {
  const m = await startMember(t, { maxRequestBytes: 64 * 1024 });
  const { kv, watch } = connect(t, m.clientUrls[0]);
  const value = Buffer.alloc(20 * 1024, 1);
  let first = 0n;
  for (let i = 0; i < 8; i++) {
    const r = await call(kv.put.bind(kv), P.PutRequest.fromPartial({ key: b(`f/${i}`), value }));
    if (i === 0) first = r.header!.revision;
  }
  const st = new Stream(watch.watch());
  t.after(() => st.s.end());
  st.create({ key: b('f/'), rangeEnd: b('f0'), fragment: true, startRevision: first }); // id 0
  st.create({ key: b('f/'), rangeEnd: b('f0'), startRevision: first }); // id 1: no fragmenting
  await st.until(() => st.events(0n).length === 8 && st.events(1n).length === 8);
  const frags = st.got.filter((r) => r.watchId === 0n && r.events.length > 0);
  assert.ok(frags.length > 1, 'expected several fragments');
  assert.deepEqual(frags.map((r) => r.fragment), [...frags.slice(1).map(() => true), false]);
  for (const r of frags) assert.ok(P.WatchResponse.encode(r).finish().length <= 64 * 1024 + 1024);
  assert.equal(st.got.filter((r) => r.watchId === 1n && r.events.length > 0).length, 1);
});
