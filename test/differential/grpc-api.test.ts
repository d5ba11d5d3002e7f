// Differential test of the v3 gRPC API: one scripted scenario (fixed steps for every edge case,
// then a seeded random run of puts, ranges, deletes, txns, compactions and lease calls) is
// played in lockstep against a real etcd 3.4.23 and against tsetcd through the same raw
// grpc-js clients; every response and error (gRPC code + message) must be equal after
// normalising only member/cluster IDs, server-chosen lease IDs, raft terms, ports, db sizes
// and TTL countdowns. Watch streams are compared at the end, per watch ID.
//
// DIFF_SEED=<n> replays another seed; DIFF_ALL=1 reports every differing step, not just the first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { etcdserverpb } from '@tsetcd/proto';
import { mulberry32 } from '@tsetcd/common';
import { waitFor } from '../kit/wait.js';
import {
  P,
  Labels,
  connect,
  firstDifference,
  isError,
  normalise,
  show,
  startEtcd,
  startTsetcd,
  unary,
  type Clients,
  type NormaliseContext,
} from './harness.js';

const seed = Number(process.env.DIFF_SEED ?? 20261125);
const randomSteps = 320;
const waitForResponseMs = 5000;
/** etcd's --max-request-bytes default (1.5 MiB) */
const maxRequestBytes = 1.5 * 1024 * 1024;
/** etcd's gRPC receive limit: max-request-bytes plus 512 KiB of overhead */
const grpcRecvLimitBytes = maxRequestBytes + 512 * 1024;
const maxTxnOps = 128;
/** etcd's watchableStore sync loop period */
const etcdWatchSyncMs = 100;

type WatchResp = etcdserverpb.WatchResponse;

/** One watch stream, its responses in arrival order, and waits for the next matching one. */
class WatchSession {
  readonly log: WatchResp[] = [];
  private readonly stream: ClientDuplexStream<etcdserverpb.WatchRequest, WatchResp>;
  private waiters: Array<{ pred: (r: WatchResp) => boolean; from: number; resolve: (r: WatchResp | 'timeout') => void }> = [];

  constructor(c: Clients) {
    this.stream = c.watch.watch();
    this.stream.on('error', () => undefined);
    this.stream.on('data', (r: WatchResp) => {
      this.log.push(r);
      const idx = this.log.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (idx >= w.from && w.pred(r)) {
          w.resolve(r);
          return false;
        }
        return true;
      });
    });
  }

  /** Sends req and resolves with the first later response matching pred. */
  request(req: etcdserverpb.WatchRequest, pred: (r: WatchResp) => boolean): Promise<WatchResp | 'timeout'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve('timeout');
      }, waitForResponseMs);
      const done = (r: WatchResp | 'timeout') => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push({ pred, from: this.log.length, resolve: done });
      this.stream.write(req);
    });
  }

  send(req: etcdserverpb.WatchRequest): void {
    this.stream.write(req);
  }

  create(value: Partial<etcdserverpb.WatchCreateRequest>): Promise<WatchResp | 'timeout'> {
    return this.request({ requestUnion: { $case: 'createRequest', value: P.WatchCreateRequest.fromPartial(value) } }, (r) => r.created);
  }

  cancel(watchId: bigint): Promise<WatchResp | 'timeout'> {
    return this.request({ requestUnion: { $case: 'cancelRequest', value: { watchId } } }, (r) => r.canceled && r.watchId === watchId);
  }

  progress(): Promise<WatchResp | 'timeout'> {
    return this.request({ requestUnion: { $case: 'progressRequest', value: {} } }, (r) => !r.created && !r.canceled && r.events.length === 0);
  }

  close(): void {
    this.stream.end();
    this.stream.cancel();
  }

  /**
   * What a client learns from the stream, per watch ID: control responses (created, canceled,
   * compacted, progress with their header revision) and the events, flattened (how events are
   * split into responses depends on timing, in etcd too).
   */
  byWatch(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    for (const r of this.log) {
      const id = String(r.watchId);
      const items = (out[id] ??= []);
      if (r.events.length === 0 || r.created || r.canceled || r.compactRevision !== 0n) {
        items.push({
          control: { created: r.created, canceled: r.canceled, compactRevision: r.compactRevision, cancelReason: r.cancelReason, revision: r.header?.revision, events: r.events.length },
        });
      }
      if (!r.created) for (const e of r.events) items.push(e);
    }
    return out;
  }
}

interface Side {
  name: 'etcd' | 'tsetcd';
  c: Clients;
  norm: NormaliseContext;
  watch: WatchSession;
  /** watch sessions opened by steps (closed at the end) */
  extraWatches: WatchSession[];
  /** lease IDs chosen by this server, by the step's name for them */
  leases: Map<string, bigint>;
  /** this member (from the member list step) */
  self?: etcdserverpb.Member;
}

interface Step {
  label: string;
  run: (s: Side) => Promise<unknown>;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function rangeReq(p: Partial<etcdserverpb.RangeRequest>): etcdserverpb.RangeRequest {
  return P.RangeRequest.fromPartial(p);
}

function putReq(p: Partial<etcdserverpb.PutRequest>): etcdserverpb.PutRequest {
  return P.PutRequest.fromPartial(p);
}

const kv = {
  range: (req: Partial<etcdserverpb.RangeRequest>): Step['run'] => (s) => unary(s.c.kv, 'range', rangeReq(req)),
  put: (req: Partial<etcdserverpb.PutRequest>): Step['run'] => (s) => unary(s.c.kv, 'put', putReq(req)),
  del: (req: Partial<etcdserverpb.DeleteRangeRequest>): Step['run'] => (s) => unary(s.c.kv, 'deleteRange', P.DeleteRangeRequest.fromPartial(req)),
  txn: (req: Partial<etcdserverpb.TxnRequest>): Step['run'] => (s) => unary(s.c.kv, 'txn', P.TxnRequest.fromPartial(req)),
  compact: (revision: bigint, physical = true): Step['run'] => (s) => unary(s.c.kv, 'compact', P.CompactionRequest.fromPartial({ revision, physical })),
};

/** Resolves a lease name to this side's ID (a literal bigint passes through). */
function leaseId(s: Side, l: string | bigint): bigint {
  if (typeof l === 'bigint') return l;
  const id = s.leases.get(l);
  assert.ok(id !== undefined, `lease ${l} was not granted`);
  return id;
}

const lease = {
  /** Grants a lease the server picks the ID of, remembered under `name`. */
  grantNamed: (name: string, TTL: bigint): Step['run'] => async (s) => {
    const r = await unary<etcdserverpb.LeaseGrantRequest, etcdserverpb.LeaseGrantResponse>(s.c.lease, 'leaseGrant', P.LeaseGrantRequest.fromPartial({ TTL }));
    if (!isError(r)) {
      s.leases.set(name, r.ID);
      s.norm.serverLeaseIds.add(r.ID);
    }
    return r;
  },
  grant: (ID: bigint, TTL: bigint): Step['run'] => (s) => unary(s.c.lease, 'leaseGrant', P.LeaseGrantRequest.fromPartial({ ID, TTL })),
  revoke: (l: string | bigint): Step['run'] => (s) => unary(s.c.lease, 'leaseRevoke', P.LeaseRevokeRequest.fromPartial({ ID: leaseId(s, l) })),
  ttl: (l: string | bigint, keys: boolean): Step['run'] => (s) => unary(s.c.lease, 'leaseTimeToLive', P.LeaseTimeToLiveRequest.fromPartial({ ID: leaseId(s, l), keys })),
  leases: (): Step['run'] => async (s) => {
    const r = await unary<etcdserverpb.LeaseLeasesRequest, etcdserverpb.LeaseLeasesResponse>(s.c.lease, 'leaseLeases', {});
    // etcd lists leases in map order: compare as a set
    if (!isError(r)) r.leases.sort((x, y) => (x.ID < y.ID ? -1 : x.ID > y.ID ? 1 : 0));
    if (!isError(r)) return { ...r, leases: r.leases.map((l) => normalise(l, s.norm, 'leases')).sort((x, y) => show(x).localeCompare(show(y))) };
    return r;
  },
  keepAlive: (l: string | bigint): Step['run'] => (s) =>
    new Promise((resolve) => {
      const st = s.c.lease.leaseKeepAlive();
      const timer = setTimeout(() => {
        st.cancel();
        resolve('timeout');
      }, waitForResponseMs);
      st.on('error', (e: { code: number; details: string }) => {
        clearTimeout(timer);
        resolve({ error: { code: e.code, details: e.details } });
      });
      st.once('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
        clearTimeout(timer);
        st.end();
        st.cancel();
        resolve(r);
      });
      st.write({ ID: leaseId(s, l) });
    }),
};

const maint = {
  status: (): Step['run'] => (s) => unary(s.c.maintenance, 'status', {}),
  hashKV: (revision: bigint): Step['run'] => (s) => unary(s.c.maintenance, 'hashKv', { revision }),
  alarmList: (): Step['run'] => (s) => unary(s.c.maintenance, 'alarm', P.AlarmRequest.fromPartial({ action: P.AlarmRequest_AlarmAction.GET })),
  memberList: (): Step['run'] => async (s) => {
    const r = await unary<etcdserverpb.MemberListRequest, etcdserverpb.MemberListResponse>(s.c.cluster, 'memberList', {});
    if (!isError(r)) for (const m of r.members) s.norm.memberIds.add(m.ID);
    if (!isError(r)) s.self = r.members[0];
    return r;
  },
  alarm: (action: number, alarm: number, member: 'self' | bigint): Step['run'] => (s) =>
    unary(s.c.maintenance, 'alarm', P.AlarmRequest.fromPartial({ action, alarm, memberID: member === 'self' ? s.self!.ID : member })),
  moveLeader: (target: 'self' | bigint): Step['run'] => (s) => unary(s.c.maintenance, 'moveLeader', { targetID: target === 'self' ? s.self!.ID : target }),
  defragment: (): Step['run'] => (s) => unary(s.c.maintenance, 'defragment', {}),
  memberRemove: (ID: bigint): Step['run'] => (s) => unary(s.c.cluster, 'memberRemove', { ID }),
  memberUpdate: (ID: bigint): Step['run'] => (s) => unary(s.c.cluster, 'memberUpdate', { ID, peerURLs: ['http://127.0.0.1:1'] }),
  memberPromote: (ID: 'self' | bigint): Step['run'] => (s) => unary(s.c.cluster, 'memberPromote', { ID: ID === 'self' ? s.self!.ID : ID }),
  memberAddExisting: (): Step['run'] => (s) => unary(s.c.cluster, 'memberAdd', { peerURLs: s.self!.peerURLs, isLearner: false }),
  memberAddBadUrl: (): Step['run'] => (s) => unary(s.c.cluster, 'memberAdd', { peerURLs: ['not a url'], isLearner: true }),
};

const watch = {
  /**
   * A watcher starting in the past is "unsynced" in etcd until its sync loop (every 100 ms)
   * catches it up; a compaction in between cancels it. Waiting past that keeps the scenario
   * deterministic on etcd's side.
   */
  create: (req: Partial<etcdserverpb.WatchCreateRequest>): Step['run'] => async (s) => {
    const r = await s.watch.create(req);
    // etcd's sync loop is a timer of its own, which no response shows (a progress request would
    // add to the compared stream): wait out three of its periods
    if ((req.startRevision ?? 0n) > 0n) await new Promise((res) => setTimeout(res, etcdWatchSyncMs * 3));
    return r;
  },
  cancel: (id: bigint): Step['run'] => (s) => s.watch.cancel(id),
  progress: (): Step['run'] => (s) => s.watch.progress(),
};

const put = (key: string, value: string, more: Partial<etcdserverpb.PutRequest> = {}): Step['run'] => kv.put({ key: b(key), value: b(value), ...more });
const reqPut = (key: string, value: string, more: Partial<etcdserverpb.PutRequest> = {}): etcdserverpb.RequestOp => ({
  request: { $case: 'requestPut', value: putReq({ key: b(key), value: b(value), ...more }) },
});
const reqRange = (key: string, more: Partial<etcdserverpb.RangeRequest> = {}): etcdserverpb.RequestOp => ({
  request: { $case: 'requestRange', value: rangeReq({ key: b(key), ...more }) },
});
const reqDel = (key: string, more: Partial<etcdserverpb.DeleteRangeRequest> = {}): etcdserverpb.RequestOp => ({
  request: { $case: 'requestDeleteRange', value: P.DeleteRangeRequest.fromPartial({ key: b(key), ...more }) },
});
const reqTxn = (t: Partial<etcdserverpb.TxnRequest>): etcdserverpb.RequestOp => ({ request: { $case: 'requestTxn', value: P.TxnRequest.fromPartial(t) } });
type Cmp = etcdserverpb.Compare;
const C = P.Compare_CompareTarget;
const R = P.Compare_CompareResult;
const cmpValue = (key: string, result: number, value: string, rangeEnd?: string): Cmp =>
  P.Compare.fromPartial({ key: b(key), rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd), target: C.VALUE, result, targetUnion: { $case: 'value', value: b(value) } });
const cmpVersion = (key: string, result: number, value: bigint, rangeEnd?: string): Cmp =>
  P.Compare.fromPartial({ key: b(key), rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd), target: C.VERSION, result, targetUnion: { $case: 'version', value } });
const cmpCreate = (key: string, result: number, value: bigint): Cmp =>
  P.Compare.fromPartial({ key: b(key), target: C.CREATE, result, targetUnion: { $case: 'createRevision', value } });
const cmpMod = (key: string, result: number, value: bigint, rangeEnd?: string): Cmp =>
  P.Compare.fromPartial({ key: b(key), rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd), target: C.MOD, result, targetUnion: { $case: 'modRevision', value } });
const cmpLease = (key: string, result: number, value: bigint): Cmp =>
  P.Compare.fromPartial({ key: b(key), target: C.LEASE, result, targetUnion: { $case: 'lease', value } });

const all = '\0';
const SO = P.RangeRequest_SortOrder;
const ST = P.RangeRequest_SortTarget;
const NOPUT = P.WatchCreateRequest_FilterType.NOPUT;
const NODELETE = P.WatchCreateRequest_FilterType.NODELETE;

/** The fixed part: every edge case named in the API, in an order that keeps revisions meaningful. */
function scriptedSteps(): Step[] {
  const steps: Step[] = [];
  const add = (label: string, run: Step['run']) => steps.push({ label, run });

  // a fresh store: revision 1, nothing compacted, empty hash
  add('get on a fresh store', kv.range({ key: b('foo') }));
  add('range all on a fresh store', kv.range({ key: b(all), rangeEnd: b(all) }));
  add('member list', maint.memberList());
  add('hashKV of a fresh store', maint.hashKV(0n));
  add('status of a fresh store', maint.status());
  add('alarm list', maint.alarmList());
  add('watch k/ from revision 1 on a fresh store', watch.create({ key: b('k/'), rangeEnd: b('k0'), startRevision: 1n, prevKv: true }));
  add('watch k/a from revision 0', watch.create({ key: b('k/a') }));
  add('watch everything, no puts', watch.create({ key: b(all), rangeEnd: b(all), filters: [NOPUT] }));
  add('watch k/ no deletes, future start', watch.create({ key: b('k/'), rangeEnd: b('k0'), startRevision: 5n, filters: [NODELETE] }));
  add('watch with an empty range', watch.create({ key: b('k/b'), rangeEnd: b('k/a') }));
  add('watch with a chosen ID', watch.create({ key: b('x'), watchId: 100n }));
  add('watch with a duplicate chosen ID', watch.create({ key: b('y'), watchId: 100n }));
  add('compact a fresh store at revision 1', kv.compact(1n));
  add('compact again at revision 1', kv.compact(1n));
  add('compact at revision 0', kv.compact(0n));
  add('compact a future revision', kv.compact(2n));
  add('read revision 1 after compacting at 1', kv.range({ key: b('foo'), revision: 1n }));
  add('hashKV after compacting at 1', maint.hashKV(0n));
  add('hashKV at a future revision', maint.hashKV(5n));

  // malformed requests
  add('put without a key', put('', 'v'));
  add('range without a key', kv.range({ key: b('') }));
  add('delete without a key', kv.del({ key: b('') }));
  add('range with end before key', kv.range({ key: b('b'), rangeEnd: b('a') }));
  add('range with an unknown sort order', kv.range({ key: b('a'), sortOrder: 7 }));
  // (an unknown sort target makes etcd 3.4.23 itself panic: not comparable)
  add('txn with an empty key in a compare', kv.txn({ compare: [cmpVersion('', R.EQUAL, 0n)] }));
  add('txn with an empty key in a put', kv.txn({ success: [reqPut('', 'v')] }));
  add('request too large (1.5 MiB + 1 KiB)', put('big', 'x'.repeat(maxRequestBytes + 1024)));
  add('request over the gRPC limit', put('big', 'x'.repeat(grpcRecvLimitBytes + 1024)));
  add('request just under the limit', put('big', 'x'.repeat(maxRequestBytes - 64)));
  add('delete the big key', kv.del({ key: b('big'), prevKv: false }));

  // leases
  add('grant a lease the server names', lease.grantNamed('L1', 600n));
  add('grant lease 1000', lease.grant(1000n, 600n));
  add('grant lease 1000 again', lease.grant(1000n, 600n));
  // short TTLs are raised to etcd's minimum (2 s here); revoked at once so no expiry races the scenario
  add('grant lease 2010 with TTL 1 (raised to the minimum)', lease.grant(2010n, 1n));
  add('grant lease 2011 with TTL 0', lease.grant(2011n, 0n));
  add('revoke leases 2010 and 2011', async (s) => [await lease.revoke(2010n)(s), await lease.revoke(2011n)(s)]);
  add('grant leases 2000 and 2001', async (s) => [await lease.grant(2000n, 600n)(s), await lease.grant(2001n, 900n)(s)]);
  add('grant a lease with too large a TTL', lease.grant(3000n, 9_000_000_001n));
  add('grant a lease with the largest TTL', lease.grant(3001n, 9_000_000_000n));
  add('grant a lease with a negative TTL', lease.grant(3002n, -5n));
  add('revoke it at once (raised to the 2 s minimum: its expiry would race the scenario)', lease.revoke(3002n));
  add('grant a lease with a negative ID', lease.grant(-7n, 600n));
  add('leases list', lease.leases());
  add('timetolive of an unknown lease', lease.ttl(4242n, true));
  add('keepalive of an unknown lease', lease.keepAlive(4242n));
  add('keepalive of lease 1000', lease.keepAlive(1000n));
  add('revoke an unknown lease', lease.revoke(4242n));

  // puts
  add('put k/a', put('k/a', 'a1'));
  add('put k/a with prev_kv', put('k/a', 'a2', { prevKv: true }));
  add('put k/b with prev_kv (none before)', put('k/b', 'b1', { prevKv: true }));
  add('put k/c on lease 1000', put('k/c', 'c1', { lease: 1000n }));
  // (keys stay on leases with IDs the test chose: a server-chosen ID is part of the stored
  // KeyValue and would make every later hashKV differ)
  add('put k/d on lease 2001', put('k/d', 'd1', { lease: 2001n }));
  add('put on an unknown lease', put('k/e', 'e1', { lease: 4242n }));
  add('put ignore_value on a missing key', put('k/zz', '', { ignoreValue: true }));
  add('put ignore_lease on a missing key', put('k/zz', 'v', { ignoreLease: true }));
  add('put ignore_value with a value', put('k/a', 'v', { ignoreValue: true }));
  add('put ignore_lease with a lease', put('k/a', 'v', { ignoreLease: true, lease: 1000n }));
  add('put ignore_value keeps the value', put('k/a', '', { ignoreValue: true, prevKv: true }));
  add('put ignore_lease keeps the lease', put('k/c', 'c2', { ignoreLease: true, prevKv: true }));
  add('put ignore_value and ignore_lease', put('k/c', '', { ignoreValue: true, ignoreLease: true, prevKv: true }));
  add('put ignore_value moves to another lease', put('k/c', '', { ignoreValue: true, lease: 2000n, prevKv: true }));
  add('put k/e, k/f, k/g', async (s) => [await put('k/e', 'e1')(s), await put('k/f', 'f1')(s), await put('k/g', 'g1')(s)]);
  add('put outside the prefix', put('k0', 'z'));
  add('put a key with binary bytes', kv.put({ key: Buffer.from([0x6b, 0x2f, 0xff, 0x00, 0x01]), value: Buffer.from([0, 1, 2]) }));
  add('timetolive of lease 1000 with keys', lease.ttl(1000n, true));
  add('timetolive of lease 2000 with keys', lease.ttl(2000n, true));
  add('timetolive of lease L1 without keys', lease.ttl('L1', false));
  add('keepalive of lease L1', lease.keepAlive('L1'));

  // ranges with every option
  const rangeOptions: Array<[string, Partial<etcdserverpb.RangeRequest>]> = [
    ['prefix', { key: b('k/'), rangeEnd: b('k0') }],
    ['from key', { key: b('k/c'), rangeEnd: b(all) }],
    ['all keys', { key: b(all), rangeEnd: b(all) }],
    ['limit 2', { key: b('k/'), rangeEnd: b('k0'), limit: 2n }],
    ['limit larger than count', { key: b('k/'), rangeEnd: b('k0'), limit: 50n }],
    ['negative limit', { key: b('k/'), rangeEnd: b('k0'), limit: -1n }],
    ['count only', { key: b('k/'), rangeEnd: b('k0'), countOnly: true }],
    ['count only with limit', { key: b('k/'), rangeEnd: b('k0'), countOnly: true, limit: 1n }],
    ['keys only', { key: b('k/'), rangeEnd: b('k0'), keysOnly: true }],
    ['keys only and count only', { key: b('k/'), rangeEnd: b('k0'), keysOnly: true, countOnly: true }],
    ['sort by key descending', { key: b('k/'), rangeEnd: b('k0'), sortOrder: SO.DESCEND }],
    ['sort by key descending, limit 2', { key: b('k/'), rangeEnd: b('k0'), sortOrder: SO.DESCEND, limit: 2n }],
    ['sort by version, no order', { key: b('k/'), rangeEnd: b('k0'), sortTarget: ST.VERSION }],
    ['sort by version descending', { key: b('k/'), rangeEnd: b('k0'), sortTarget: ST.VERSION, sortOrder: SO.DESCEND }],
    ['sort by create ascending', { key: b('k/'), rangeEnd: b('k0'), sortTarget: ST.CREATE, sortOrder: SO.ASCEND }],
    ['sort by mod descending, limit 3', { key: b('k/'), rangeEnd: b('k0'), sortTarget: ST.MOD, sortOrder: SO.DESCEND, limit: 3n }],
    ['sort by value ascending', { key: b('k/'), rangeEnd: b('k0'), sortTarget: ST.VALUE, sortOrder: SO.ASCEND }],
    ['sort by value descending', { key: b('k/'), rangeEnd: b('k0'), sortTarget: ST.VALUE, sortOrder: SO.DESCEND }],
    ['min mod revision', { key: b('k/'), rangeEnd: b('k0'), minModRevision: 5n }],
    ['max mod revision', { key: b('k/'), rangeEnd: b('k0'), maxModRevision: 5n }],
    ['min create revision with limit', { key: b('k/'), rangeEnd: b('k0'), minCreateRevision: 4n, limit: 1n }],
    ['max create revision', { key: b('k/'), rangeEnd: b('k0'), maxCreateRevision: 4n }],
    ['min and max mod revision, count', { key: b('k/'), rangeEnd: b('k0'), minModRevision: 3n, maxModRevision: 6n }],
    ['revision 3', { key: b('k/'), rangeEnd: b('k0'), revision: 3n }],
    ['revision 2 serializable', { key: b('k/'), rangeEnd: b('k0'), revision: 2n, serializable: true }],
    ['a future revision', { key: b('k/'), rangeEnd: b('k0'), revision: 1000n }],
    ['a negative revision', { key: b('k/a'), revision: -3n }],
    ['a single missing key', { key: b('k/zz') }],
    ['range end equal to key', { key: b('k/a'), rangeEnd: b('k/a') }],
  ];
  for (const [label, req] of rangeOptions) add(`range: ${label}`, kv.range(req));

  // txns
  add('txn: value equal -> success', kv.txn({ compare: [cmpValue('k/b', R.EQUAL, 'b1')], success: [reqPut('k/b', 'b2', { prevKv: true }), reqRange('k/b')], failure: [reqRange('k/a')] }));
  add('txn: value greater fails', kv.txn({ compare: [cmpValue('k/b', R.GREATER, 'z')], success: [reqPut('k/b', 'no')], failure: [reqRange('k/', { rangeEnd: b('k0'), limit: 2n }), reqDel('k/g', { prevKv: true })] }));
  add('txn: version less over a range', kv.txn({ compare: [cmpVersion('k/', R.LESS, 3n, 'k0')], success: [reqPut('k/h', 'h1')] }));
  add('txn: version not equal on a missing key', kv.txn({ compare: [cmpVersion('k/zz', R.NOT_EQUAL, 0n)], success: [reqPut('k/zz', 'x')], failure: [reqRange('k/zz')] }));
  add('txn: create revision 0 (missing key)', kv.txn({ compare: [cmpCreate('k/new', R.EQUAL, 0n)], success: [reqPut('k/new', 'n1')] }));
  add('txn: mod revision greater', kv.txn({ compare: [cmpMod('k/a', R.GREATER, 2n)], success: [reqDel('k/new', { prevKv: true })] }));
  add('txn: lease equal', kv.txn({ compare: [cmpLease('k/c', R.EQUAL, 2000n)], success: [reqRange('k/c')], failure: [reqRange('k/a')] }));
  add('txn: lease not equal on a missing key', kv.txn({ compare: [cmpLease('k/none', R.NOT_EQUAL, 0n)], success: [reqRange('k/c')], failure: [reqRange('k/a')] }));
  add('txn: several compares, one false', kv.txn({ compare: [cmpValue('k/a', R.EQUAL, 'a2'), cmpVersion('k/b', R.EQUAL, 9n)], success: [reqPut('k/a', 's')], failure: [reqPut('k/a', 'f', { prevKv: true })] }));
  add('txn: nested', kv.txn({
    compare: [cmpVersion('k/a', R.GREATER, 0n)],
    success: [reqTxn({ compare: [cmpValue('k/b', R.EQUAL, 'b2')], success: [reqPut('k/n1', '1'), reqRange('k/n1')], failure: [reqPut('k/n2', '2')] }), reqRange('k/n', { rangeEnd: b('k/o') })],
  }));
  add('txn: nested puts of the same key in both branches', kv.txn({ success: [reqTxn({ success: [reqPut('k/dup', '1')], failure: [reqPut('k/dup', '2')] }), reqRange('k/dup')] }));
  add('txn: duplicate put keys', kv.txn({ success: [reqPut('k/x', '1'), reqPut('k/x', '2')] }));
  add('txn: put and delete of the same key', kv.txn({ success: [reqPut('k/x', '1'), reqDel('k/x')] }));
  add('txn: put inside a deleted range', kv.txn({ success: [reqDel('k/', { rangeEnd: b('k0') }), reqPut('k/x', '1')] }));
  add('txn: duplicate keys in a nested txn', kv.txn({ success: [reqPut('k/x', '1'), reqTxn({ success: [reqPut('k/x', '2')] })] }));
  add('txn: duplicate keys in different branches', kv.txn({ success: [reqPut('k/x', '1')], failure: [reqPut('k/x', '2')] }));
  add('txn: range twice is fine', kv.txn({ success: [reqRange('k/a'), reqRange('k/a'), reqPut('k/a', 'twice')] }));
  add('txn: too many operations', kv.txn({ success: Array.from({ length: maxTxnOps + 1 }, (_, i) => reqRange(`k/${i}`)) }));
  add('txn: exactly the maximum', kv.txn({ success: Array.from({ length: maxTxnOps }, (_, i) => reqRange(`k/${i}`)) }));
  add('txn: put on an unknown lease', kv.txn({ success: [reqPut('k/x', '1', { lease: 4242n })] }));
  add('txn: ignore_value on a missing key', kv.txn({ success: [reqPut('k/missing', '', { ignoreValue: true })] }));
  add('txn: range at a future revision', kv.txn({ success: [reqRange('k/a', { revision: 10_000n })] }));
  add('txn: empty', kv.txn({}));
  add('txn: compare on a future-style mod revision', kv.txn({ compare: [cmpMod('k/a', R.LESS, 10_000n)], success: [reqRange('k/a', { keysOnly: true })] }));

  // odd compares and ops
  add('txn: VALUE compare carrying a version', kv.txn({ compare: [P.Compare.fromPartial({ key: b('k/a'), target: C.VALUE, result: R.EQUAL, targetUnion: { $case: 'version', value: 1n } })], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: VERSION compare carrying a value', kv.txn({ compare: [P.Compare.fromPartial({ key: b('k/a'), target: C.VERSION, result: R.GREATER, targetUnion: { $case: 'value', value: b('x') } })], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: compare without a target value', kv.txn({ compare: [P.Compare.fromPartial({ key: b('k/a'), target: C.MOD, result: R.GREATER })], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: unknown compare result', kv.txn({ compare: [P.Compare.fromPartial({ key: b('k/a'), target: C.VERSION, result: 9, targetUnion: { $case: 'version', value: 1n } })], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: unknown compare target', kv.txn({ compare: [P.Compare.fromPartial({ key: b('k/a'), target: 7, result: R.EQUAL, targetUnion: { $case: 'version', value: 1n } })], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: unknown compare target, NOT_EQUAL', kv.txn({ compare: [P.Compare.fromPartial({ key: b('k/a'), target: 7, result: R.NOT_EQUAL })], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: compare on a range including missing keys', kv.txn({ compare: [cmpValue('k/', R.NOT_EQUAL, 'zz', 'k0')], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: compare over from-key', kv.txn({ compare: [cmpVersion('k/', R.GREATER, 0n, all)], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: mod compare with revision 0 on a missing key', kv.txn({ compare: [cmpMod('k/none', R.EQUAL, 0n)], success: [reqRange('k/a')], failure: [reqRange('k/b')] }));
  add('txn: delete range with end before key', kv.txn({ success: [reqDel('k/z', { rangeEnd: b('k/a') })] }));
  add('txn: range with prefix, count only', kv.txn({ success: [reqRange('k/', { rangeEnd: b('k0'), countOnly: true }), reqRange('k/', { rangeEnd: b('k0'), keysOnly: true, limit: 1n, sortOrder: SO.DESCEND })] }));
  add('txn: read compacted-free past revision', kv.txn({ success: [reqRange('k/a', { revision: 4n })] }));
  add('txn: delete then put overlapping via nested txn', kv.txn({ success: [reqDel('k/x', { rangeEnd: b('k/y') }), reqTxn({ success: [reqPut('k/x1', '1')] })] }));

  // odd leases and revisions
  add('timetolive of lease 0', lease.ttl(0n, false));
  add('revoke lease 0', lease.revoke(0n));
  add('keepalive of lease 0', lease.keepAlive(0n));
  add('compact at a negative revision', kv.compact(-1n));
  add('hashKV at a negative revision', maint.hashKV(-1n));
  add('put with a negative lease', put('k/neg', 'v', { lease: -7n }));
  add('put with prev_kv on a leased key', put('k/l0', 'v', { lease: 1000n, prevKv: true }));
  add('put again with prev_kv on the leased key, dropping the lease', put('k/l0', 'w', { prevKv: true }));

  // watches with unusual options
  add('watch with both filters', watch.create({ key: b('k/a'), filters: [NOPUT, NODELETE] }));
  add('watch from-key with prev_kv', watch.create({ key: b('k/m'), rangeEnd: b(all), prevKv: true }));
  add('watch with progress_notify', watch.create({ key: b('k/p'), progressNotify: true }));
  add('watch with fragment', watch.create({ key: b('k/'), rangeEnd: b('k0'), fragment: true }));
  add('watch with an empty key', watch.create({ key: b('') }));
  add('watch with an empty key and from-key end', watch.create({ key: b(''), rangeEnd: b(all), filters: [NOPUT] }));
  add('watch with a negative start revision', watch.create({ key: b('k/neg'), startRevision: -4n }));
  add('watch with an unknown filter', watch.create({ key: b('k/f'), filters: [5] }));
  add('cancel watch 0 twice', async (s) => [await s.watch.cancel(0n), (s.watch.send({ requestUnion: { $case: 'cancelRequest', value: { watchId: 0n } } }), await s.watch.progress())]);
  add('empty watch request, then a progress request', async (s) => {
    s.watch.send({ requestUnion: undefined });
    return s.watch.progress();
  });
  add('put k/m1 and delete it', async (s) => [await put('k/m1', 'm')(s), await kv.del({ key: b('k/m1'), prevKv: true })(s)]);

  // deletes
  add('delete from-key with prev_kv', kv.del({ key: b('k/zz1'), rangeEnd: b(all), prevKv: true }));
  add('delete a missing key', kv.del({ key: b('k/zzz'), prevKv: true }));
  add('delete one key with prev_kv', kv.del({ key: b('k/g'), prevKv: true }));
  add('delete a range with prev_kv', kv.del({ key: b('k/n'), rangeEnd: b('k/o'), prevKv: true }));
  add('delete a range without prev_kv', kv.del({ key: b('k/x'), rangeEnd: b('k/y') }));
  add('delete with end before key', kv.del({ key: b('k/z'), rangeEnd: b('k/a') }));

  // leases with keys
  add('timetolive of lease 2000 with keys after puts', lease.ttl(2000n, true));
  add('revoke lease 2000 (deletes its keys)', lease.revoke(2000n));
  add('revoke lease 2000 again', lease.revoke(2000n));
  add('timetolive of the revoked lease', lease.ttl(2000n, true));
  add('get the revoked lease keys', kv.range({ key: b('k/c') }));
  add('put k/l1, k/l2 on lease 1000', async (s) => [await put('k/l1', '1', { lease: 1000n })(s), await put('k/l2', '2', { lease: 1000n, prevKv: true })(s)]);
  add('timetolive of lease 1000 with keys', lease.ttl(1000n, true));
  add('leases list after changes', lease.leases());

  // watches around the current revision
  add('progress request', watch.progress());
  add('watch k/ from revision 2 with prev_kv', watch.create({ key: b('k/'), rangeEnd: b('k0'), startRevision: 2n, prevKv: true }));
  add('cancel watch 1', watch.cancel(1n));
  add('cancel an unknown watch, then a progress request', async (s) => {
    // etcd answers nothing to an unknown ID: the progress request right after shows the stream still works
    s.watch.send({ requestUnion: { $case: 'cancelRequest', value: { watchId: 999n } } });
    return s.watch.progress();
  });

  // compaction
  if (process.env.DIFF_HASH_BISECT) for (let r = 1n; r < 40n; r++) add(`hash at ${r}`, maint.hashKV(r));
  add('compact at revision 6 (physical)', kv.compact(6n));
  add('hashKV after compaction', maint.hashKV(0n));
  add('hashKV at the compacted revision', maint.hashKV(6n));
  add('hashKV at a revision below compaction', maint.hashKV(4n));
  add('read at the compacted revision', kv.range({ key: b('k/'), rangeEnd: b('k0'), revision: 6n }));
  add('read below the compacted revision', kv.range({ key: b('k/'), rangeEnd: b('k0'), revision: 5n }));
  add('watch from a compacted revision', watch.create({ key: b('k/'), rangeEnd: b('k0'), startRevision: 3n }));
  add('watch from the compacted revision itself', watch.create({ key: b('k/'), rangeEnd: b('k0'), startRevision: 6n }));
  add('compact an older revision', kv.compact(4n));
  add('compact non-physical at revision 8', kv.compact(8n, false));
  add('status after compactions', maint.status());

  // alarms, maintenance and membership errors
  const AA = P.AlarmRequest_AlarmAction;
  const AT = P.AlarmType;
  add('activate NOSPACE', maint.alarm(AA.ACTIVATE, AT.NOSPACE, 'self'));
  add('alarm list with NOSPACE', maint.alarmList());
  add('put under NOSPACE', put('k/nospace', 'x'));
  add('txn with a put under NOSPACE', kv.txn({ success: [reqPut('k/nospace', 'x')] }));
  add('read-only txn under NOSPACE', kv.txn({ success: [reqRange('k/a')] }));
  add('delete under NOSPACE', kv.del({ key: b('k/a1') }));
  add('txn with only a delete under NOSPACE', kv.txn({ success: [reqDel('k/a2')] }));
  add('txn with a nested put under NOSPACE', kv.txn({ success: [reqTxn({ success: [reqPut('k/nested-nospace', 'x')] })] }));
  add('txn with a put in the branch not taken under NOSPACE', kv.txn({ compare: [cmpVersion('k/a', R.LESS, 0n)], success: [reqRange('k/a')], failure: [reqPut('k/nospace', 'x')] }));
  add('lease grant under NOSPACE', lease.grant(7000n, 600n));
  add('range under NOSPACE', kv.range({ key: b('k/a') }));
  add('status under NOSPACE', maint.status());
  add('deactivate NOSPACE', maint.alarm(AA.DEACTIVATE, AT.NOSPACE, 'self'));
  add('deactivate an alarm that is not raised', maint.alarm(AA.DEACTIVATE, AT.CORRUPT, 'self'));
  add('activate an alarm for another member', maint.alarm(AA.ACTIVATE, AT.NOSPACE, 42n));
  add('alarm list with a foreign alarm', maint.alarmList());
  add('put with a foreign member NOSPACE', put('k/nospace', 'x'));
  add('deactivate the foreign alarm', maint.alarm(AA.DEACTIVATE, AT.NOSPACE, 42n));
  add('activate alarm NONE', maint.alarm(AA.ACTIVATE, AT.NONE, 'self'));
  add('alarm list at the end', maint.alarmList());
  add('move leader to an unknown member', maint.moveLeader(4242n));
  add('move leader to itself', maint.moveLeader('self'));
  add('defragment', maint.defragment());
  add('remove an unknown member', maint.memberRemove(4242n));
  add('update an unknown member', maint.memberUpdate(4242n));
  add('promote an unknown member', maint.memberPromote(4242n));
  add('promote a voting member', maint.memberPromote('self'));
  add('add a member with existing peer URLs', maint.memberAddExisting());
  add('add a member with a bad URL', maint.memberAddBadUrl());
  add('member list at the end', maint.memberList());
  return steps;
}

/** Seeded random operations over a small key space (so keys collide, versions grow). */
function randomSteps_(seedValue: number, count: number): Step[] {
  const rnd = mulberry32(seedValue);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
  const key = () => `r/${pick(names)}`;
  const val = () => `v${int(50)}`;
  const leases = [1000n, 2001n, 0n] as const;
  const steps: Step[] = [];
  // revisions drawn below are relative to the start of this phase (resolved at run time)
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const label = `random #${i} (seed ${seedValue})`;
    if (r < 0.28) {
      const k = key(), v = val(), prevKv = rnd() < 0.5, l = rnd() < 0.2 ? pick(leases) : 0n, ignoreValue = rnd() < 0.05, ignoreLease = rnd() < 0.05;
      steps.push({ label: `${label}: put ${k}`, run: (sd) => unary(sd.c.kv, 'put', putReq({ key: b(k), value: ignoreValue ? undefined : b(v), prevKv, lease: ignoreLease ? 0n : leaseId(sd, l), ignoreValue, ignoreLease })) });
    } else if (r < 0.5) {
      const prefix = rnd() < 0.7;
      const req: Partial<etcdserverpb.RangeRequest> = {
        key: b(prefix ? 'r/' : key()),
        rangeEnd: prefix ? b('r0') : rnd() < 0.3 ? b(all) : undefined,
        limit: BigInt(int(4)),
        sortOrder: pick([0, 0, 1, 2]),
        sortTarget: pick([0, 0, 1, 2, 3, 4]),
        keysOnly: rnd() < 0.2,
        countOnly: rnd() < 0.1,
        serializable: rnd() < 0.3,
      };
      const minMod = rnd() < 0.15 ? BigInt(int(40)) : 0n;
      const maxMod = rnd() < 0.1 ? BigInt(int(60)) : 0n;
      const minCreate = rnd() < 0.1 ? BigInt(int(40)) : 0n;
      const maxCreate = rnd() < 0.1 ? BigInt(int(60)) : 0n;
      const rev = rnd() < 0.15 ? BigInt(int(60)) - 10n : 0n;
      steps.push({
        label: `${label}: range`,
        run: (sd) => {
          const base = phaseBase.get(sd.name)!;
          const at = (x: bigint) => (x === 0n ? 0n : x + base);
          return kv.range({ ...req, minModRevision: at(minMod), maxModRevision: at(maxMod), minCreateRevision: at(minCreate), maxCreateRevision: at(maxCreate), revision: rev <= 0n ? rev : rev + base })(sd);
        },
      });
    } else if (r < 0.6) {
      const one = rnd() < 0.7;
      const k = key();
      steps.push({ label: `${label}: delete`, run: kv.del(one ? { key: b(k), prevKv: rnd() < 0.7 } : { key: b('r/e'), rangeEnd: b('r/h'), prevKv: true }) });
    } else if (r < 0.83) {
      const k = key(), k2 = key(), v = val();
      const cmp = pick([
        () => cmpValue(k, int(4), val()),
        () => cmpVersion(k, int(4), BigInt(int(3))),
        () => cmpCreate(k, pick([0, 1, 2, 3]), 0n),
        () => cmpLease(k, int(4), 1000n),
        () => cmpVersion('r/', int(4), BigInt(int(4)), 'r0'),
      ])();
      const success = [reqPut(k, v, { prevKv: true }), reqRange('r/', { rangeEnd: b('r0'), limit: BigInt(int(3)) })];
      const failure = k2 === k ? [reqRange(k)] : [reqDel(k2, { prevKv: true }), reqPut(k, v)];
      if (rnd() < 0.2) success.push(reqTxn({ compare: [cmpValue(k2, R.EQUAL, val())], success: k2 === k ? [] : [reqPut(k2, 'nested')], failure: [reqRange(k2)] }));
      steps.push({ label: `${label}: txn on ${k}`, run: kv.txn({ compare: [cmp], success, failure }) });
    } else if (r < 0.88) {
      const l = pick([1000n, 2001n, 'L1'] as const);
      steps.push({ label: `${label}: timetolive`, run: lease.ttl(l, true) });
    } else if (r < 0.9) {
      steps.push({ label: `${label}: revoke and re-grant lease 1000`, run: async (sd) => [await lease.revoke(1000n)(sd), await lease.grant(1000n, 600n)(sd)] });
    } else if (r < 0.93) {
      const back = BigInt(1 + int(12));
      steps.push({
        label: `${label}: compact ${back} back`,
        run: async (sd) => {
          const cur = (await unary<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>(sd.c.kv, 'range', rangeReq({ key: b('r/a') }))) as etcdserverpb.RangeResponse;
          return kv.compact(cur.header!.revision - back)(sd);
        },
      });
    } else if (r < 0.96) {
      const back = BigInt(int(30));
      steps.push({
        label: `${label}: hashKV ${back} back`,
        run: async (sd) => {
          const cur = (await unary<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>(sd.c.kv, 'range', rangeReq({ key: b('r/a') }))) as etcdserverpb.RangeResponse;
          const at = cur.header!.revision - back;
          return maint.hashKV(at > 0n ? at : 0n)(sd);
        },
      });
    } else {
      const k = key();
      const back = BigInt(int(8));
      const prevKv = rnd() < 0.5;
      steps.push({
        label: `${label}: watch ${k} from the past`,
        run: async (sd) => {
          const cur = (await unary<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>(sd.c.kv, 'range', rangeReq({ key: b('r/a') }))) as etcdserverpb.RangeResponse;
          return watch.create({ key: b(k), startRevision: cur.header!.revision - back, prevKv })(sd);
        },
      });
    }
  }
  return steps;
}

/** The revision each side was at when the random phase began. */
const phaseBase = new Map<string, bigint>();

test('differential: etcd 3.4.23 and tsetcd answer a scripted + seeded gRPC scenario identically', async (t) => {
  const [etcd, ts] = await Promise.all([startEtcd(t), startTsetcd(t)]);
  const mk = (name: Side['name'], addr: string, ports: number[]): Side => {
    const c = connect(t, addr);
    const side: Side = {
      name,
      c,
      norm: { labels: new Labels(), serverLeaseIds: new Set(), memberIds: new Set(), ports },
      watch: new WatchSession(c),
      extraWatches: [],
      leases: new Map(),
    };
    t.after(() => {
      side.watch.close();
      for (const w of side.extraWatches) w.close();
    });
    return side;
  };
  const sides = [mk('etcd', etcd.client, [etcd.clientPort, etcd.peerPort]), mk('tsetcd', ts.client, [ts.clientPort, ts.peerPort])] as const;

  const reportAll = process.env.DIFF_ALL === '1';
  const diffs: string[] = [];
  const check = (label: string, index: number, got: [unknown, unknown]) => {
    const [want, have] = got.map((x, i) => normalise(x, sides[i].norm));
    const d = firstDifference(want, have);
    if (d === undefined) return;
    const msg = `step ${index} "${label}" differs at ${d.path}:\n  etcd:   ${show(d.etcd)}\n  tsetcd: ${show(d.tsetcd)}\n  full etcd:   ${show(want).slice(0, 800)}\n  full tsetcd: ${show(have).slice(0, 800)}`;
    if (!reportAll) assert.fail(msg);
    console.log(msg);
    diffs.push(msg);
  };

  const steps = scriptedSteps();
  let index = 0;
  for (const step of steps) {
    const got = await Promise.all(sides.map((s) => Promise.resolve().then(() => step.run(s)).catch((e: Error) => ({ thrown: e.message }))));
    check(step.label, index++, got as [unknown, unknown]);
  }
  for (const s of sides) {
    const r = await unary<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>(s.c.kv, 'range', rangeReq({ key: b('r/') }));
    assert.ok(!isError(r), `${s.name}: ${show(r)}`);
    phaseBase.set(s.name, r.header!.revision);
  }
  for (const step of randomSteps_(seed, randomSteps)) {
    const got = await Promise.all(sides.map((s) => Promise.resolve().then(() => step.run(s)).catch((e: Error) => ({ thrown: e.message }))));
    check(step.label, index++, got as [unknown, unknown]);
  }
  // the final state and every watch stream
  check('final keyspace', index++, (await Promise.all(sides.map((s) => kv.range({ key: b(all), rangeEnd: b(all) })(s)))) as [unknown, unknown]);
  check('final hashKV', index++, (await Promise.all(sides.map((s) => maint.hashKV(0n)(s)))) as [unknown, unknown]);
  check('final progress request', index++, (await Promise.all(sides.map((s) => watch.progress()(s)))) as [unknown, unknown]);
  // every stream has delivered what the writes produced once both servers sent as many items per
  // watch (bounded: when they never agree, the checks below name the differences)
  const counts = (s: Side) => JSON.stringify(Object.entries(s.watch.byWatch()).map(([id, items]) => [id, items.length]));
  await waitFor('both servers to deliver as many watch items', () => counts(sides[0]) === counts(sides[1]), 5_000).catch(() => undefined);
  const [we, wt] = sides.map((s) => s.watch.byWatch());
  for (const id of new Set([...Object.keys(we), ...Object.keys(wt)])) check(`watch stream, watch ${id}`, index++, [we[id], wt[id]]);
  if (diffs.length > 0) assert.fail(`${diffs.length} differences:\n${diffs.join('\n\n')}`);
  assert.ok(index > 400, `only ${index} steps ran`);
});
