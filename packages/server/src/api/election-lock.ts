// v3lock and v3election services, as etcd serves them (server side of clientv3/concurrency):
// keys "<name>/<lease id hex>" created with the caller's lease; the owner/leader is the key with
// the lowest create revision; waiting = watching the next older key until it is deleted.

import { etcdserverpb, mvccpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
import { prefixEnd } from '@tsetcd/common';
import type { ServerView } from '../etcdserver/server-view.js';
import { KvApi } from './kv.js';
import { LeaseApi } from './lease.js';
import { GrpcError } from '../grpc/index.js';
import { Errors, GrpcCode } from '../errors.js';
import { toGrpcError } from './errors.js';
import type { ServerStreamCall } from '../grpc/index.js';

const P = etcdserverpb;

/** clientv3/concurrency's default session TTL, seconds: the lease a request without one gets */
const defaultSessionTtl = 60n;

const electionNoLeader = () => toGrpcError(Errors.electionNoLeader());
const electionNotLeader = () => toGrpcError(Errors.electionNotLeader());

/** Proclaim/Resign without a leader (etcd's v3election server checks it before anything else). */
export const leaderMissing = (): GrpcError => new GrpcError(GrpcCode.Unknown, '"leader" field must be provided');

export class ElectionLockApi {
  private readonly kv: KvApi;
  private readonly lease: LeaseApi;
  constructor(private readonly s: ServerView) {
    this.kv = new KvApi(s);
    this.lease = new LeaseApi(s);
  }

  /**
   * The lease the keys are made with: the request's, or (lease 0) a new one of 60 s, as etcd's
   * concurrency.NewSession grants; etcd orphans that session at once, so the lock or leadership
   * ends when the lease runs out unless someone keeps it alive.
   */
  private async sessionLease(lease: bigint): Promise<bigint> {
    if (lease !== 0n) return lease;
    return (await this.lease.grant(P.LeaseGrantRequest.fromPartial({ TTL: defaultSessionTtl }))).ID;
  }

  /** Resolves when the watched range sees an event matching `pred`, from `fromRev` on. */
  private waitFor(key: Buffer, rangeEnd: Buffer | undefined, fromRev: bigint, pred: (e: mvccpb.Event) => boolean, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = this.s.newWatchStream({
        send: (resp) => {
          if (resp.events.some(pred)) {
            ws.close();
            resolve();
          }
          return true;
        },
        drained: () => Promise.resolve(),
        header: (rev) => this.s.header(rev),
        maxResponseBytes: Number.MAX_SAFE_INTEGER,
      });
      signal?.addEventListener('abort', () => {
        ws.close();
        reject(new GrpcError(GrpcCode.Canceled, 'context canceled'));
      });
      ws.handle({ requestUnion: { $case: 'createRequest', value: P.WatchCreateRequest.fromPartial({ key, rangeEnd: rangeEnd ?? Buffer.alloc(0), startRevision: fromRev }) } });
    });
  }

  /** etcd's waitDeletes: until no key under prefix has create revision <= maxCreateRev. */
  private async waitDeletes(prefix: Buffer, maxCreateRev: bigint, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const r = await this.kv.range(P.RangeRequest.fromPartial({
        key: prefix, rangeEnd: prefixEnd(prefix), limit: 1n, maxCreateRevision: maxCreateRev,
        sortOrder: P.RangeRequest_SortOrder.DESCEND, sortTarget: P.RangeRequest_SortTarget.CREATE,
      }));
      if (r.kvs.length === 0) return;
      const last = r.kvs[0].key;
      await this.waitFor(last, undefined, r.header!.revision + 1n, (e) => e.type === mvccpb.Event_EventType.DELETE, signal);
    }
  }

  /** Creates <prefix><lease hex> (or finds it) and waits to be the oldest key under prefix. */
  private async acquire(prefix: Buffer, lease: bigint, value: Buffer, signal?: AbortSignal): Promise<{ key: Buffer; rev: bigint; header: etcdserverpb.ResponseHeader }> {
    const key = Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
    const owner = P.RangeRequest.fromPartial({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 1n, sortOrder: P.RangeRequest_SortOrder.ASCEND, sortTarget: P.RangeRequest_SortTarget.CREATE });
    const t = await this.kv.txn(P.TxnRequest.fromPartial({
      compare: [{ key, target: P.Compare_CompareTarget.CREATE, result: P.Compare_CompareResult.EQUAL, targetUnion: { $case: 'createRevision', value: 0n } }],
      success: [{ request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key, value, lease }) } }, { request: { $case: 'requestRange', value: owner } }],
      failure: [{ request: { $case: 'requestRange', value: P.RangeRequest.fromPartial({ key }) } }, { request: { $case: 'requestRange', value: owner } }],
    }));
    let rev = t.header!.revision;
    if (!t.succeeded) {
      const r0 = t.responses[0].response;
      if (r0?.$case === 'responseRange') rev = r0.value.kvs[0].createRevision;
    }
    const r1 = t.responses[1].response;
    const first = r1?.$case === 'responseRange' ? r1.value.kvs[0] : undefined;
    if (first !== undefined && first.createRevision !== rev) {
      try {
        await this.waitDeletes(prefix, rev - 1n, signal);
      } catch (e) {
        // given up (cancelled, deadline): etcd's Mutex.Lock deletes its key, or it would hold
        // the lock for everyone after it
        await this.kv.deleteRange(P.DeleteRangeRequest.fromPartial({ key })).catch(() => undefined);
        throw e;
      }
    }
    return { key, rev, header: this.s.header() };
  }

  async lock(r: v3lockpb.LockRequest, signal?: AbortSignal): Promise<v3lockpb.LockResponse> {
    const lease = await this.sessionLease(r.lease);
    const { key } = await this.acquire(Buffer.concat([r.name, Buffer.from('/')]), lease, Buffer.alloc(0), signal);
    return { header: this.s.header(), key };
  }

  async unlock(r: v3lockpb.UnlockRequest): Promise<v3lockpb.UnlockResponse> {
    const d = await this.kv.deleteRange(P.DeleteRangeRequest.fromPartial({ key: r.key }));
    return { header: d.header };
  }

  async campaign(r: v3electionpb.CampaignRequest, signal?: AbortSignal): Promise<v3electionpb.CampaignResponse> {
    const prefix = Buffer.concat([r.name, Buffer.from('/')]);
    const lease = await this.sessionLease(r.lease);
    const { key, rev } = await this.acquire(prefix, lease, r.value, signal);
    return { header: this.s.header(), leader: { name: r.name, key, rev, lease } };
  }

  async proclaim(r: v3electionpb.ProclaimRequest): Promise<v3electionpb.ProclaimResponse> {
    const l = r.leader;
    if (l === undefined) throw leaderMissing();
    const t = await this.kv.txn(P.TxnRequest.fromPartial({
      compare: [{ key: l.key, target: P.Compare_CompareTarget.CREATE, result: P.Compare_CompareResult.EQUAL, targetUnion: { $case: 'createRevision', value: l.rev } }],
      success: [{ request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: l.key, value: r.value, lease: l.lease }) } }],
    }));
    if (!t.succeeded) throw electionNotLeader();
    return { header: t.header };
  }

  async leader(r: v3electionpb.LeaderRequest): Promise<v3electionpb.LeaderResponse> {
    const prefix = Buffer.concat([r.name, Buffer.from('/')]);
    const g = await this.kv.range(P.RangeRequest.fromPartial({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 1n, sortOrder: P.RangeRequest_SortOrder.ASCEND, sortTarget: P.RangeRequest_SortTarget.CREATE }));
    if (g.kvs.length === 0) throw electionNoLeader();
    return { header: g.header, kv: g.kvs[0] };
  }

  async resign(r: v3electionpb.ResignRequest): Promise<v3electionpb.ResignResponse> {
    const l = r.leader;
    if (l === undefined) throw leaderMissing();
    const t = await this.kv.txn(P.TxnRequest.fromPartial({
      compare: [{ key: l.key, target: P.Compare_CompareTarget.CREATE, result: P.Compare_CompareResult.EQUAL, targetUnion: { $case: 'createRevision', value: l.rev } }],
      success: [{ request: { $case: 'requestDeleteRange', value: P.DeleteRangeRequest.fromPartial({ key: l.key }) } }],
    }));
    return { header: t.header };
  }

  /** Streams the leader's key-value each time leadership or the proclaimed value changes. */
  async observe(r: v3electionpb.LeaderRequest, call: ServerStreamCall): Promise<void> {
    const prefix = Buffer.concat([r.name, Buffer.from('/')]);
    let last: mvccpb.KeyValue | undefined;
    const ac = new AbortController();
    call.onCancel(() => ac.abort());
    while (!ac.signal.aborted) {
      let cur: v3electionpb.LeaderResponse | undefined;
      try {
        cur = await this.leader(r);
      } catch {
        cur = undefined;
      }
      const kv = cur?.kv;
      if (kv && (!last || !kv.key.equals(last.key) || kv.modRevision !== last.modRevision)) {
        last = kv;
        if (!call.write(cur)) await call.drained();
      }
      const from = (cur?.header?.revision ?? this.s.currentRevision()) + 1n;
      await this.waitFor(prefix, prefixEnd(prefix), from, () => true, ac.signal).catch(() => undefined);
    }
  }
}
