import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import { waitFor } from '../../../test/kit/wait.js';
import { Client, CompactedError, type WatchEvent, type Watcher } from '../src/index.js';

/** Collects `n` events from a watcher (fails after `timeoutMs`). */
async function take(w: Watcher, n: number, timeoutMs = 5_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const timer = setTimeout(() => void w.stop(), timeoutMs);
  try {
    while (out.length < n) {
      const r = await it.next();
      if (r.done === true) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
  assert.equal(out.length, n, `expected ${n} events, got ${out.length}`);
  return out;
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

test('watch against a real server', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { bin: targetBin, size: 1, args: ['--experimental-watch-progress-notify-interval=300ms'] });
  const client = new Client({ endpoints: cluster.endpoints });
  t.after(() => client.close());
  const writer = new Client({ endpoints: cluster.endpoints });
  t.after(() => writer.close());

  await t.test('key and prefix watchers get puts and deletes with prevKv', { timeout: 30_000 }, async () => {
    const one = client.watch('/w/a', { prevKv: true });
    const pfx = client.watch('/w/', { prefix: true });
    await Promise.all([one.ready, pfx.ready]);
    await writer.put('/w/a', '1');
    await writer.put('/w/b', '2');
    await writer.put('/w/a', '3');
    await writer.delete('/w/a');
    const evs = await take(one, 3);
    assert.deepEqual(evs.map((e) => [e.type, e.kv.value.toString()]), [['put', '1'], ['put', '3'], ['delete', '']]);
    assert.equal(evs[1].prevKv?.value.toString(), '1');
    assert.equal(evs[2].prevKv?.value.toString(), '3');
    const all = await take(pfx, 4);
    assert.deepEqual(all.map((e) => e.kv.key.toString()), ['/w/a', '/w/b', '/w/a', '/w/a']);
    assert.equal(all[0].prevKv, undefined);
    await one.stop();
    await pfx.stop();
  });

  await t.test('filters, startRevision history, and break ends the watch', { timeout: 30_000 }, async () => {
    const first = await writer.put('/h/k', 'a');
    await writer.put('/h/k', 'b');
    await writer.delete('/h/k');
    const history = client.watch('/h/k', { startRevision: first.revision });
    const evs = await take(history, 3);
    assert.deepEqual(evs.map((e) => e.type), ['put', 'put', 'delete']);
    assert.equal(evs[0].kv.modRevision, first.revision);
    await history.stop();
    const noDel = client.watch('/h/k', { startRevision: first.revision, noDelete: true });
    assert.deepEqual((await take(noDel, 2)).map((e) => e.kv.value.toString()), ['a', 'b']);
    await noDel.stop();
    const noPut = client.watch('/h/k', { startRevision: first.revision, noPut: true });
    let seen = 0;
    for await (const ev of noPut) {
      assert.equal(ev.type, 'delete');
      seen++;
      break;
    }
    assert.equal(seen, 1);
    assert.equal(noPut.isStopped, true);
  });

  await t.test('many watchers share one gRPC stream', { timeout: 30_000 }, async () => {
    const watchers = Array.from({ length: 25 }, (_, i) => client.watch(`/many/${i}`));
    await Promise.all(watchers.map((w) => w.ready));
    const ids = new Set(watchers.map((w) => w.watchId));
    assert.equal(ids.size, 25);
    const streams = await metric(cluster.endpoints[0], 'etcd_debugging_mvcc_watch_stream_total');
    if (streams !== undefined) assert.equal(streams, 1, 'client and writer: only the client watches, on one stream');
    for (let i = 0; i < 25; i++) await writer.put(`/many/${i}`, String(i));
    for (let i = 0; i < 25; i++) {
      const [ev] = await take(watchers[i], 1);
      assert.equal(ev.kv.value.toString(), String(i));
    }
    await Promise.all(watchers.map((w) => w.stop()));
  });

  await t.test('progress notifications: periodic and requested', { timeout: 30_000 }, async () => {
    const w = client.watch('/progress/k', { progressNotify: true });
    await w.ready;
    const put = await writer.put('/other', 'x');
    const it = w.batches();
    // A periodic tick may fall between the watch's creation and the put: that notification
    // reports an older revision; a later one must cover the put.
    for (let seen = 0; ; seen++) {
      const b = await it.next();
      assert.equal(b.done, false);
      assert.equal(b.value?.progress, true);
      if (b.value !== undefined && b.value.revision >= put.revision) break;
      assert.ok(seen < 3, 'a progress notification covers the put');
    }
    const quiet = client.watch('/progress/q');
    await quiet.ready;
    const rev = (await writer.put('/other', 'y')).revision;
    const got = new Promise<bigint>((res) => quiet.once('progress', res));
    client.requestProgress();
    assert.ok((await got) >= rev);
    await it.return?.();
    await quiet.stop();
  });

  await t.test('a compacted start revision surfaces as CompactedError', { timeout: 30_000 }, async () => {
    const r1 = await writer.put('/cmp/k', '1');
    const r2 = await writer.put('/cmp/k', '2');
    await writer.compact(r2.revision, { physical: true });
    const w = client.watch('/cmp/k', { startRevision: r1.revision });
    const err = await (async () => {
      for await (const _ of w) assert.fail('no event expected');
    })().then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CompactedError, String(err));
    assert.equal(err.compactRevision, r2.revision);
  });

  await t.test('resumes across a server restart with no lost and no duplicate events', { timeout: 30_000 }, async () => {
    const w = client.watch('/resume/', { prefix: true });
    await w.ready;
    const start = (await writer.put('/resume/0', '0')).revision;
    for (let i = 1; i < 10; i++) await writer.put(`/resume/${i}`, String(i));
    await cluster.restartMember(0);
    let last = 0n;
    for (let i = 10; i < 20; i++) last = (await writer.put(`/resume/${i}`, String(i))).revision;
    const evs = await take(w, 20, 15_000);
    const revs = evs.map((e) => e.kv.modRevision);
    assert.deepEqual(revs, Array.from({ length: 20 }, (_, i) => start + BigInt(i)));
    assert.equal(revs[revs.length - 1], last);
    assert.deepEqual(evs.map((e) => e.kv.value.toString()), Array.from({ length: 20 }, (_, i) => String(i)));
    await w.stop();
  });

  await t.test('close() ends open watchers cleanly', { timeout: 30_000 }, async () => {
    const c2 = new Client({ endpoints: cluster.endpoints });
    const ws = [c2.watch('/close/a'), c2.watch('/close/b', { prefix: true }), c2.watch('/close/c')];
    await Promise.all(ws.map((w) => w.ready));
    const got = ws.map(() => 0);
    const loops = ws.map(async (w, i) => {
      for await (const _ of w) got[i]++;
      return got[i];
    });
    await writer.put('/close/a', 'x');
    await waitFor('the event on /close/a', () => got[0] === 1);
    await c2.close();
    const counts = await Promise.all(loops);
    assert.deepEqual(counts, [1, 0, 0]);
    assert.throws(() => c2.watch('/x'), { code: 'ETCD_ERR_CLIENT_CLOSED' });
  });
});
