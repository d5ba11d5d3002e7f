// The applier: executes committed InternalRaftRequests against the MVCC store and the lessor.
// Runs on every member in log order; its outcome (a response or an etcd error) is handed to the
// waiting client by the server. Errors here are "results", not failures of the state machine.

import { etcdserverpb, mvccpb, tsetcdpb } from '@tsetcd/proto';
import type { MvccStore } from '../mvcc/store.js';
import type { KeyValue, MvccEvent, ReadView, WriteTxn, RangeOptions } from '../mvcc/types.js';
import { Buckets } from '../backend/backend.js';
import { Errors, ServerError } from '../errors.js';
import { Lessor, encodeLeaseRecord, leaseBucketKey, noLease } from '../lease/lessor.js';
import { AuthStore } from '../auth/auth-store.js';
import { RequestPermissions } from '../auth/request-permissions.js';
import { costAvailable, costPut, quotaAvailable, type QuotaRequest } from './quota-cost.js';

type Compare = etcdserverpb.Compare;
type RequestOp = etcdserverpb.RequestOp;
type ResponseOp = etcdserverpb.ResponseOp;

const CompareResult = etcdserverpb.Compare_CompareResult;
const CompareTarget = etcdserverpb.Compare_CompareTarget;
const AlarmAction = etcdserverpb.AlarmRequest_AlarmAction;
const AlarmType = etcdserverpb.AlarmType;

/** Result of applying one entry: the response message, or the etcd error to answer with. */
export type ApplyResult = { resp: unknown; err?: undefined; physical?: Promise<void> } | { resp?: undefined; err: Error; physical?: undefined };

/** Observes committed changes: the watch hub gets each revision's events (with prev values). */
export type EventSink = (revision: bigint, events: MvccEvent[]) => void;

export interface AlarmRecord {
  memberID: bigint;
  alarm: etcdserverpb.AlarmType;
}

function header(revision: bigint): etcdserverpb.ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision, raftTerm: 0n };
}

export function toPbKv(kv: KeyValue): mvccpb.KeyValue {
  return {
    key: kv.key,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  };
}

function rangeEndOrUndefined(b: Buffer): Buffer | undefined {
  return b.length === 0 ? undefined : b;
}

function alarmKey(a: AlarmRecord): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(a.memberID, 0);
  b.writeInt32BE(a.alarm, 8);
  return b;
}

export interface ApplierOptions {
  store: MvccStore;
  lessor: Lessor;
  onEvents?: EventSink;
  /** simple auth token TTL (etcd --auth-token-ttl) */
  authTokenTtlMs?: number;
  /** the backend quota in force, undefined when disabled (checked again for each applied write) */
  quotaBytes?: () => number | undefined;
}

export class Applier {
  readonly store: MvccStore;
  readonly lessor: Lessor;
  onEvents: EventSink | undefined;
  /** users, roles, permissions and tokens (auth requests are applied here too) */
  readonly auth: AuthStore;
  /** per-request key permission checks (the gRPC gate and the apply-time checks share them) */
  readonly authRequests: RequestPermissions;
  private alarms: AlarmRecord[] = [];
  private readonly quotaBytes: () => number | undefined;

  constructor(opts: ApplierOptions) {
    this.store = opts.store;
    this.lessor = opts.lessor;
    this.quotaBytes = opts.quotaBytes ?? (() => undefined);
    this.onEvents = opts.onEvents;
    const backend = this.store.backend;
    this.lessor.persistence = {
      saveLease: (rec) => backend.putAux(Buckets.lease, leaseBucketKey(rec.id), encodeLeaseRecord(rec)),
      deleteLease: (id) => backend.deleteAux(Buckets.lease, leaseBucketKey(id)),
    };
    // the entry being applied is the one after the consistent index (set once it is applied)
    this.auth = new AuthStore(backend, { tokenTtlMs: opts.authTokenTtlMs, applyingIndex: () => this.store.consistentIndex() + 1 });
    this.authRequests = new RequestPermissions(this.auth, (id) => this.lessor.lookup(id)?.keyBuffers());
    for (const [k] of backend.rangeAux(Buckets.alarm)) {
      this.alarms.push({ memberID: k.readBigUInt64BE(0), alarm: k.readInt32BE(8) });
    }
  }

  alarmList(): AlarmRecord[] {
    return this.alarms.slice();
  }

  hasAlarm(t: etcdserverpb.AlarmType): boolean {
    // a loop, not some(): this runs for every applied write
    const alarms = this.alarms;
    for (let i = 0; i < alarms.length; i++) if (alarms[i].alarm === t) return true;
    return false;
  }

  /** Applies one decoded request. Never throws for request-level errors: they are returned. */
  apply(r: tsetcdpb.InternalRaftRequest): ApplyResult {
    try {
      const user = r.header?.username ?? '';
      if (user !== '' && this.auth.isEnabled()) this.checkCaller(user, r.header?.authRevision ?? 0n, r);
      // etcd's applierV3Corrupt: with a CORRUPT alarm raised, writes (and ranges through raft) fail
      if ((r.put || r.range || r.deleteRange || r.txn || r.compaction || r.leaseGrant || r.leaseRevoke) && this.hasAlarm(AlarmType.CORRUPT)) return { err: Errors.corrupt() };
      if (r.put) {
        // the quota is measured before the write, as withinQuota does (without a closure per put)
        const fits = costAvailable(this.store.backend.size(), this.quotaBytes(), costPut(r.put));
        const resp = this.put(r.put);
        return fits ? { resp } : { err: Errors.noSpace() };
      }
      if (r.range) return { resp: this.range(this.store.read(), r.range) };
      if (r.deleteRange) return { resp: this.deleteRange(r.deleteRange) };
      if (r.txn) return this.withinQuota({ txn: r.txn }, () => this.txn(r.txn!));
      if (r.compaction) return this.compaction(r.compaction);
      if (r.leaseGrant) return this.withinQuota({ leaseGrant: r.leaseGrant }, () => this.leaseGrant(r.leaseGrant!));
      if (r.leaseRevoke) return { resp: this.leaseRevoke(r.leaseRevoke) };
      if (r.leaseCheckpoint) {
        for (const c of r.leaseCheckpoint.checkpoints) this.lessor.checkpoint(c.ID, Number(c.remainingTTL));
        return { resp: { header: header(this.store.currentRevision()) } };
      }
      if (r.alarm) return { resp: this.alarm(r.alarm) };
      if (AuthStore.isAuthRequest(r)) return this.auth.apply(r);
      return { resp: undefined };
    } catch (e) {
      if (e instanceof Error && (e as { grpcCode?: unknown }).grpcCode !== undefined) return { err: e };
      throw e;
    }
  }

  /**
   * etcd's quotaApplierV3: whether the write fits is judged before it is applied; one that did
   * not fit is applied all the same, and its caller gets NOSPACE (the gRPC gate refuses most
   * such writes earlier; this catches those that raced past it).
   */
  private fitsQuota(q: QuotaRequest): boolean {
    return quotaAvailable(this.store.backend.size(), this.quotaBytes(), q);
  }

  private withinQuota(q: QuotaRequest, write: () => unknown): ApplyResult {
    const fits = this.fitsQuota(q);
    const resp = write();
    return fits ? { resp } : { err: Errors.noSpace() };
  }

  /**
   * etcd's authApplierV3: a request proposed for an authenticated caller is checked again when
   * applied, at the auth revision of now — permissions may have changed since the gate saw it.
   */
  private checkCaller(user: string, authRevision: bigint, r: tsetcdpb.InternalRaftRequest): void {
    const auth = this.auth;
    const perms = this.authRequests;
    const current = (): void => {
      if (authRevision < auth.revision()) throw Errors.authOldRevision();
    };
    if (r.put) {
      current();
      perms.put(user, r.put);
    } else if (r.deleteRange) {
      current();
      perms.deleteRange(user, r.deleteRange);
    } else if (r.txn) {
      current();
      perms.txn(user, r.txn);
    } else if (r.leaseRevoke) {
      if ((this.lessor.lookup(r.leaseRevoke.ID)?.keyBuffers().length ?? 0) > 0) current();
      perms.lease(user, r.leaseRevoke.ID);
    } else if (AuthStore.isAuthRequest(r) && r.authenticate === undefined) {
      auth.checkAdmin(user);
    }
  }

  // ---- KV ----

  range(view: ReadView, r: etcdserverpb.RangeRequest): etcdserverpb.RangeResponse {
    const opts: RangeOptions = {
      rangeEnd: rangeEndOrUndefined(r.rangeEnd),
      revision: r.revision,
      limit: Number(r.limit),
      keysOnly: r.keysOnly,
      countOnly: r.countOnly,
      sortOrder: r.sortOrder as number,
      sortTarget: r.sortTarget as number,
      minModRevision: r.minModRevision,
      maxModRevision: r.maxModRevision,
      minCreateRevision: r.minCreateRevision,
      maxCreateRevision: r.maxCreateRevision,
    };
    const rr = view.range(r.key, opts);
    return {
      header: header(rr.revision),
      kvs: rr.kvs.map(toPbKv),
      more: rr.more,
      count: BigInt(rr.count),
    };
  }

  private checkNoSpace(): void {
    if (this.hasAlarm(AlarmType.NOSPACE)) throw Errors.noSpace();
  }

  put(r: etcdserverpb.PutRequest): etcdserverpb.PutResponse {
    this.checkNoSpace();
    this.checkPutLease(r);
    const txn = this.store.write();
    let resp: etcdserverpb.PutResponse;
    try {
      resp = this.putIn(txn, r, false);
    } catch (e) {
      this.endTxn(txn);
      throw e;
    }
    const rev = this.endTxn(txn);
    resp.header = header(rev);
    return resp;
  }

  private checkPutLease(r: etcdserverpb.PutRequest): void {
    if (r.lease !== noLease && !this.lessor.lookup(r.lease)) throw Errors.leaseNotFound();
  }

  /** Put inside an open txn; the prev value is looked up only when needed (ignore_value/lease, prev_kv). */
  private putIn(txn: WriteTxn, r: etcdserverpb.PutRequest, withHeader = true): etcdserverpb.PutResponse {
    let value = r.value;
    let lease = r.lease;
    if (r.ignoreValue || r.ignoreLease) {
      const cur = txn.range(r.key, {}).kvs[0];
      if (cur === undefined) throw Errors.keyNotFound();
      if (r.ignoreValue) value = cur.value;
      if (r.ignoreLease) lease = cur.lease;
    }
    if (lease !== noLease && !this.lessor.lookup(lease)) throw Errors.leaseNotFound();
    // the previous value is read only for prev_kv; watchers asking for it read it when they send
    const { prev, prevLease } = txn.put(r.key, value, lease, r.prevKv);
    if (prevLease !== noLease && prevLease !== lease) this.lessor.detach(prevLease, r.key);
    if (lease !== noLease) this.lessor.attach(lease, r.key);
    this.pendingPrev.push(prev);
    // (a put of its own gets its header when its txn has ended: none built here to be replaced)
    return { header: withHeader ? header(txn.revision()) : undefined, prevKv: r.prevKv && prev !== undefined ? toPbKv(prev) : undefined };
  }

  deleteRange(r: etcdserverpb.DeleteRangeRequest): etcdserverpb.DeleteRangeResponse {
    const txn = this.store.write();
    const resp = this.deleteIn(txn, r);
    const rev = this.endTxn(txn);
    resp.header = header(rev);
    return resp;
  }

  private deleteIn(txn: WriteTxn, r: etcdserverpb.DeleteRangeRequest): etcdserverpb.DeleteRangeResponse {
    const deleted = txn.deleteRange(r.key, rangeEndOrUndefined(r.rangeEnd));
    for (const kv of deleted) {
      if (kv.lease !== noLease) this.lessor.detach(kv.lease, kv.key);
      this.pendingPrev.push(kv);
    }
    return {
      header: header(txn.revision()),
      deleted: BigInt(deleted.length),
      prevKvs: r.prevKv ? deleted.map(toPbKv) : [],
    };
  }

  /** prev values of the writes of the open txn, in write order (one per event) */
  private pendingPrev: (KeyValue | undefined)[] = [];

  private endTxn(txn: WriteTxn): bigint {
    const { revision, events } = txn.end();
    const prevs = this.pendingPrev;
    this.pendingPrev = [];
    if (events.length > 0) {
      if (events.length !== prevs.length) throw new Error(`applier invariant: ${events.length} events for ${prevs.length} writes`);
      for (let i = 0; i < events.length; i++) if (prevs[i] !== undefined) events[i].prevKv = prevs[i];
      this.onEvents?.(revision, events);
    }
    return revision;
  }

  txn(r: etcdserverpb.TxnRequest): etcdserverpb.TxnResponse {
    if (txnCostsQuota(r)) this.checkNoSpace();
    const txn = this.store.write();
    let resp: etcdserverpb.TxnResponse;
    try {
      // etcd checks every put's lease / ignore flags of the chosen path before writing anything
      const ok = this.compareAll(txn, r.compare);
      this.checkOps(txn, ok ? r.success : r.failure);
      resp = this.txnIn(txn, r, ok);
    } catch (e) {
      // nothing was written: checks ran first
      this.endTxn(txn);
      throw e;
    }
    const rev = this.endTxn(txn);
    resp.header = header(rev);
    return resp;
  }

  private checkOps(view: ReadView, ops: RequestOp[]): void {
    for (const op of ops) {
      const q = op.request;
      if (q?.$case === 'requestPut') {
        const p = q.value;
        this.checkPutLease(p);
        if (p.ignoreValue || p.ignoreLease) {
          if (view.range(p.key, {}).kvs.length === 0) throw Errors.keyNotFound();
        }
      } else if (q?.$case === 'requestTxn') {
        const ok = this.compareAll(view, q.value.compare);
        this.checkOps(view, ok ? q.value.success : q.value.failure);
      }
    }
  }

  private txnIn(txn: WriteTxn, r: etcdserverpb.TxnRequest, ok?: boolean): etcdserverpb.TxnResponse {
    const succeeded = ok ?? this.compareAll(txn, r.compare);
    const ops = succeeded ? r.success : r.failure;
    const responses: ResponseOp[] = [];
    for (const op of ops) {
      const q = op.request;
      if (q === undefined) {
        responses.push({ response: undefined });
        continue;
      }
      switch (q.$case) {
        case 'requestRange':
          responses.push({ response: { $case: 'responseRange', value: this.range(txn, q.value) } });
          break;
        case 'requestPut':
          responses.push({ response: { $case: 'responsePut', value: this.putIn(txn, q.value) } });
          break;
        case 'requestDeleteRange':
          responses.push({ response: { $case: 'responseDeleteRange', value: this.deleteIn(txn, q.value) } });
          break;
        case 'requestTxn':
          responses.push({ response: { $case: 'responseTxn', value: this.txnIn(txn, q.value) } });
          break;
      }
    }
    // a nested txn's response keeps etcd's empty header; the outer one is filled by txn()
    return { header: header(0n), succeeded, responses };
  }

  private compareAll(view: ReadView, cmps: Compare[]): boolean {
    for (const c of cmps) if (!this.compareOne(view, c)) return false;
    return true;
  }

  private compareOne(view: ReadView, c: Compare): boolean {
    const rr = view.range(c.key, { rangeEnd: rangeEndOrUndefined(c.rangeEnd) });
    if (rr.kvs.length === 0) {
      if (c.target === CompareTarget.VALUE) return false;
      return compareKv(c, { key: c.key, createRevision: 0n, modRevision: 0n, version: 0n, value: Buffer.alloc(0), lease: 0n });
    }
    for (const kv of rr.kvs) if (!compareKv(c, kv)) return false;
    return true;
  }

  private compaction(r: etcdserverpb.CompactionRequest): ApplyResult {
    const { done } = this.store.compact(r.revision);
    // the response header carries the revision at compaction time
    return { resp: { header: header(this.store.currentRevision()) }, physical: done };
  }

  // ---- leases ----

  private leaseGrant(r: etcdserverpb.LeaseGrantRequest): etcdserverpb.LeaseGrantResponse {
    // etcd's capped applier refuses lease grants under NOSPACE
    this.checkNoSpace();
    const l = this.lessor.grant(r.ID, Number(r.TTL));
    return { header: header(this.store.currentRevision()), ID: l.id, TTL: BigInt(l.ttlSeconds), error: '' };
  }

  private leaseRevoke(r: etcdserverpb.LeaseRevokeRequest): etcdserverpb.LeaseRevokeResponse {
    const l = this.lessor.lookup(r.ID);
    if (!l) throw Errors.leaseNotFound();
    const keys = l.keyBuffers();
    if (keys.length > 0) {
      // every attached key goes in one revision
      const txn = this.store.write();
      for (const k of keys) this.deleteIn(txn, { key: k, rangeEnd: Buffer.alloc(0), prevKv: false });
      this.endTxn(txn);
    }
    this.lessor.revoke(r.ID);
    return { header: header(this.store.currentRevision()) };
  }

  // ---- alarms ----

  private alarm(r: etcdserverpb.AlarmRequest): etcdserverpb.AlarmResponse {
    const resp: etcdserverpb.AlarmResponse = { header: header(this.store.currentRevision()), alarms: [] };
    const backend = this.store.backend;
    switch (r.action) {
      case AlarmAction.GET:
        resp.alarms = this.alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm }));
        break;
      case AlarmAction.ACTIVATE: {
        // (etcd stores any alarm type, NONE included; only NOSPACE and CORRUPT have effects)
        const rec = { memberID: r.memberID, alarm: r.alarm };
        if (!this.alarms.some((a) => a.memberID === rec.memberID && a.alarm === rec.alarm)) {
          this.alarms.push(rec);
          backend.putAux(Buckets.alarm, alarmKey(rec), Buffer.alloc(0));
        }
        resp.alarms = [rec];
        break;
      }
      case AlarmAction.DEACTIVATE: {
        const i = this.alarms.findIndex((a) => a.memberID === r.memberID && a.alarm === r.alarm);
        if (i < 0) break;
        const [rec] = this.alarms.splice(i, 1);
        backend.deleteAux(Buckets.alarm, alarmKey(rec));
        resp.alarms = [rec];
        break;
      }
    }
    return resp;
  }
}

/** etcd's quota cost of a txn is that of its top-level puts (deletes and nested txns are free). */
function txnCostsQuota(r: etcdserverpb.TxnRequest): boolean {
  const puts = (xs: RequestOp[]): boolean => xs.some((op) => op.request?.$case === 'requestPut');
  return puts(r.success) || puts(r.failure);
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let result: number;
  const u = c.targetUnion;
  switch (c.target) {
    case CompareTarget.VALUE:
      result = Buffer.compare(kv.value, u?.$case === 'value' ? u.value : Buffer.alloc(0));
      break;
    case CompareTarget.VERSION:
      result = cmp(kv.version, u?.$case === 'version' ? u.value : 0n);
      break;
    case CompareTarget.CREATE:
      result = cmp(kv.createRevision, u?.$case === 'createRevision' ? u.value : 0n);
      break;
    case CompareTarget.MOD:
      result = cmp(kv.modRevision, u?.$case === 'modRevision' ? u.value : 0n);
      break;
    case CompareTarget.LEASE:
      result = cmp(kv.lease, u?.$case === 'lease' ? u.value : 0n);
      break;
    default:
      // etcd: an unknown target compares as equal
      result = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      // etcd: an unknown result holds
      return true;
  }
}

export { ServerError };
