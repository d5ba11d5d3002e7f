// What each KV / lease request needs, as etcd's authApplierV3 and v3_server check it: ranges
// read, puts and deletes write (plus read for prev_kv), a put with a lease and a lease revoke
// write on every key attached to the lease, a txn every compare (read) and every op of both
// branches, nested txns included.

import { etcdserverpb } from '@tsetcd/proto';
import type { AuthStore } from './auth-store.js';

const noBytes = Buffer.alloc(0);

/** Keys attached to a lease, undefined when there is no such lease. */
export type LeaseKeys = (lease: bigint) => Buffer[] | undefined;

export class RequestPermissions {
  constructor(
    private readonly auth: AuthStore,
    private readonly leaseKeys: LeaseKeys,
  ) {}

  range(user: string | undefined, r: etcdserverpb.RangeRequest): void {
    this.auth.checkPermitted(user, 'read', r.key, r.rangeEnd);
  }

  put(user: string | undefined, r: etcdserverpb.PutRequest): void {
    this.auth.checkPermitted(user, 'write', r.key, noBytes);
    if (r.prevKv) this.auth.checkPermitted(user, 'read', r.key, noBytes);
    this.lease(user, r.lease);
  }

  deleteRange(user: string | undefined, r: etcdserverpb.DeleteRangeRequest): void {
    this.auth.checkPermitted(user, 'write', r.key, r.rangeEnd);
    if (r.prevKv) this.auth.checkPermitted(user, 'read', r.key, r.rangeEnd);
  }

  txn(user: string | undefined, r: etcdserverpb.TxnRequest): void {
    for (const c of r.compare) this.auth.checkPermitted(user, 'read', c.key, c.rangeEnd);
    for (const op of [...r.success, ...r.failure]) {
      const q = op.request;
      if (q === undefined) continue;
      if (q.$case === 'requestRange') this.range(user, q.value);
      else if (q.$case === 'requestPut') this.put(user, q.value);
      else if (q.$case === 'requestDeleteRange') this.deleteRange(user, q.value);
      else if (q.$case === 'requestTxn') this.txn(user, q.value);
    }
  }

  /** Write permission on every key attached to the lease (nothing for no lease / an unknown one). */
  lease(user: string | undefined, lease: bigint): void {
    if (lease === 0n) return;
    for (const k of this.leaseKeys(lease) ?? []) this.auth.checkPermitted(user, 'write', k, noBytes);
  }
}
