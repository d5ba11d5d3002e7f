// Differential: one seeded scenario (puts, ranges with options, deletes, txns, leases,
// compaction, a watcher) against the real etcd 3.4.23 and against tsetcd; what the client sees
// must be the same. Normalised: member/cluster IDs, raft terms, TTL countdowns, and revisions
// relative to the store's first write.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { startServer } from '@tsetcd/server/embed/index';
import { startRealEtcd } from './kit/real-etcd.js';
import { waitFor } from './kit/wait.js';

const P = etcdserverpb;

interface Target {
  kv: InstanceType<typeof P.KVClient>;
  lease: InstanceType<typeof P.LeaseClient>;
  watch: InstanceType<typeof P.WatchClient>;
}

function connect(addr: string): Target {
  const c = credentials.createInsecure();
  return { kv: new P.KVClient(addr, c), lease: new P.LeaseClient(addr, c), watch: new P.WatchClient(addr, c) };
}

function call<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<unknown> {
  return new Promise((resolve) => fn(req, (err, res) => resolve(err ? { error: { code: err.code, details: err.details } } : res)));
}

/** A deterministic list of operations (seeded), the same for both servers. */
function scenario(seed: number): Array<(t: Target, base: bigint) => Promise<unknown>> {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const key = () => Buffer.from(`k/${pick(['a', 'b', 'c', 'd', 'e', 'f', 'g'])}`);
  const val = () => Buffer.from(`v${Math.floor(rnd() * 1000)}`);
  const ops: Array<(t: Target, base: bigint) => Promise<unknown>> = [];
  const leases = [101n, 102n, 103n];
  ops.push((t) => call(t.lease.leaseGrant.bind(t.lease), P.LeaseGrantRequest.fromPartial({ ID: leases[0], TTL: 600n })));
  ops.push((t) => call(t.lease.leaseGrant.bind(t.lease), P.LeaseGrantRequest.fromPartial({ ID: leases[1], TTL: 600n })));
  for (let i = 0; i < 220; i++) {
    const r = rnd();
    if (r < 0.3) {
      const req = P.PutRequest.fromPartial({ key: key(), value: val(), prevKv: rnd() < 0.5, lease: rnd() < 0.15 ? pick([...leases, 0n]) : 0n });
      ops.push((t) => call(t.kv.put.bind(t.kv), req));
    } else if (r < 0.5) {
      const req = P.RangeRequest.fromPartial({
        key: Buffer.from('k/'), rangeEnd: Buffer.from('k0'),
        limit: BigInt(Math.floor(rnd() * 4)),
        sortOrder: pick([0, 1, 2]), sortTarget: pick([0, 1, 2, 3, 4]),
        keysOnly: rnd() < 0.2, countOnly: rnd() < 0.1,
        minModRevision: rnd() < 0.2 ? BigInt(1 + Math.floor(rnd() * 20)) : 0n,
        serializable: rnd() < 0.3,
      });
      // revisions in requests are relative to the store's first write, like the answers
      ops.push((t, base) => call(t.kv.range.bind(t.kv), { ...req, minModRevision: req.minModRevision > 0n ? req.minModRevision + base : 0n }));
    } else if (r < 0.6) {
      const req = P.DeleteRangeRequest.fromPartial(rnd() < 0.7 ? { key: key(), prevKv: true } : { key: Buffer.from('k/e'), rangeEnd: Buffer.from('k/g'), prevKv: true });
      ops.push((t) => call(t.kv.deleteRange.bind(t.kv), req));
    } else if (r < 0.85) {
      const k = key();
      const cmp = pick([
        { key: k, target: P.Compare_CompareTarget.VALUE, result: pick([0, 1, 2, 3]), targetUnion: { $case: 'value' as const, value: val() } },
        { key: k, target: P.Compare_CompareTarget.VERSION, result: pick([0, 1, 2, 3]), targetUnion: { $case: 'version' as const, value: BigInt(Math.floor(rnd() * 3)) } },
        { key: k, target: P.Compare_CompareTarget.CREATE, result: P.Compare_CompareResult.EQUAL, targetUnion: { $case: 'createRevision' as const, value: 0n } },
      ]);
      const k2 = key();
      const req = P.TxnRequest.fromPartial({
        compare: [cmp],
        success: [{ request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: k, value: val(), prevKv: true }) } }, { request: { $case: 'requestRange', value: P.RangeRequest.fromPartial({ key: Buffer.from('k/'), rangeEnd: Buffer.from('k0') }) } }],
        failure: k2.equals(k) ? [] : [{ request: { $case: 'requestDeleteRange', value: P.DeleteRangeRequest.fromPartial({ key: k2, prevKv: true }) } }, { request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: k, value: val() }) } }],
      });
      ops.push((t) => call(t.kv.txn.bind(t.kv), req));
    } else if (r < 0.9) {
      const req = P.LeaseTimeToLiveRequest.fromPartial({ ID: pick(leases), keys: true });
      ops.push((t) => call(t.lease.leaseTimeToLive.bind(t.lease), req));
    } else if (r < 0.93) {
      const id = pick(leases);
      ops.push((t) => call(t.lease.leaseRevoke.bind(t.lease), P.LeaseRevokeRequest.fromPartial({ ID: id })));
      ops.push((t) => call(t.lease.leaseGrant.bind(t.lease), P.LeaseGrantRequest.fromPartial({ ID: id, TTL: 600n })));
    } else if (r < 0.96) {
      // compaction at a relative revision: resolved at run time from the current header
      const back = BigInt(1 + Math.floor(rnd() * 10));
      ops.push(async (t) => {
        const cur = (await call(t.kv.range.bind(t.kv), P.RangeRequest.fromPartial({ key: Buffer.from('k/a') }))) as etcdserverpb.RangeResponse;
        return call(t.kv.compact.bind(t.kv), P.CompactionRequest.fromPartial({ revision: cur.header!.revision - back, physical: true }));
      });
    } else {
      const req = P.RangeRequest.fromPartial({ key: key(), revision: BigInt(1 + Math.floor(rnd() * 30)) });
      ops.push((t, base) => call(t.kv.range.bind(t.kv), { ...req, revision: req.revision + base }));
    }
  }
  return ops;
}

/** Replaces what legitimately differs between two servers. */
function normalise(v: unknown, base: bigint, parentKey = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => normalise(x, base, parentKey));
  if (Buffer.isBuffer(v)) return v.toString();
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'clusterId' || k === 'memberId' || k === 'raftTerm') continue;
      // a TimeToLive's remaining TTL counts down by the wall clock
      if (k === 'TTL' && 'grantedTTL' in (v as object)) continue;
      if (typeof x === 'bigint' && /revision/i.test(k)) out[k] = x > 0n ? x - base : x;
      else out[k] = normalise(x, base, k);
    }
    return out;
  }
  return v;
}

test('differential: a seeded scenario gives the same answers from etcd and tsetcd', async (t) => {
  const dirs: string[] = [];
  t.after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const etcdDir = await mkdtemp(join(tmpdir(), 'diff-etcd-'));
  const tsDir = await mkdtemp(join(tmpdir(), 'diff-tsetcd-'));
  dirs.push(etcdDir, tsDir);
  const etcd = await startRealEtcd({ dir: etcdDir });
  t.after(() => etcd.kill());
  const ts = await startServer({ dataDir: tsDir, listenClientUrls: ['http://127.0.0.1:0'] });
  t.after(() => ts.close());
  await ts.ready;

  const run = async (addr: string) => {
    const target = connect(addr);
    const watchEvents: unknown[] = [];
    // a write after the scenario, in the watched range: once the watcher sees it, it has seen
    // every event before it (it is left out of the compared events)
    const lastKey = 'k/~after the scenario';
    let created = false;
    let sawLast = false;
    const w = target.watch.watch();
    w.on('error', () => undefined);
    w.on('data', (r: etcdserverpb.WatchResponse) => {
      if (r.created) created = true;
      for (const e of r.events) {
        if (e.kv?.key.toString() === lastKey) sawLast = true;
        else watchEvents.push(e);
      }
    });
    w.write({ requestUnion: { $case: 'createRequest', value: P.WatchCreateRequest.fromPartial({ key: Buffer.from('k/'), rangeEnd: Buffer.from('k0'), prevKv: true }) } });
    await waitFor('the watch to be created', () => created);
    const first = (await call(target.kv.put.bind(target.kv), P.PutRequest.fromPartial({ key: Buffer.from('base'), value: Buffer.from('0') }))) as etcdserverpb.PutResponse;
    const base = first.header!.revision - 1n;
    const answers: unknown[] = [];
    for (const op of scenario(20261125)) answers.push(normalise(await op(target, base), base));
    await call(target.kv.put.bind(target.kv), P.PutRequest.fromPartial({ key: Buffer.from(lastKey), value: Buffer.from('') }));
    await waitFor('the watcher to see the write after the scenario', () => sawLast);
    w.end();
    for (const c of Object.values(target)) (c as { close(): void }).close();
    return { answers, events: normalise(watchEvents, base) };
  };
  const want = await run(etcd.endpoint);
  const got = await run(new URL(ts.clientUrls[0]).host);
  for (let i = 0; i < want.answers.length; i++) assert.deepEqual(got.answers[i], want.answers[i], `operation ${i} differs`);
  assert.deepEqual(got.events, want.events);
});
