// etcd's estimate of the bytes a request may add to the backend (Cost in etcdserver/quota.go),
// shared by the gRPC gate (api/quota.ts) and the applier's check of each applied write.

import type { etcdserverpb } from '@tsetcd/proto';

/** etcd's estimate of a key-value's bytes beyond its key and value. */
const kvOverhead = 256;
/** etcd's estimate of a lease's bytes. */
const leaseOverhead = 64;

export type QuotaRequest = { put: etcdserverpb.PutRequest } | { txn: etcdserverpb.TxnRequest } | { leaseGrant: etcdserverpb.LeaseGrantRequest };

/** A put's cost (quotaCost({ put }) without the wrapper object). */
export function costPut(r: etcdserverpb.PutRequest): number {
  return kvOverhead + r.key.length + r.value.length;
}

/** The puts of one branch (nested txns are not counted, as in etcd). */
function costOps(ops: etcdserverpb.RequestOp[]): number {
  let n = 0;
  for (const op of ops) if (op.request?.$case === 'requestPut') n += costPut(op.request.value);
  return n;
}

/** Bytes a request may add to the backend, by etcd's estimate. */
export function quotaCost(q: QuotaRequest): number {
  if ('put' in q) return costPut(q.put);
  if ('txn' in q) return Math.max(costOps(q.txn.success), costOps(q.txn.failure));
  return leaseOverhead;
}

/** etcd's backendQuota.Available: no quota, a request adding nothing, or room for its cost. */
export function quotaAvailable(backendBytes: number, quotaBytes: number | undefined, q: QuotaRequest): boolean {
  return quotaBytes === undefined || costAvailable(backendBytes, quotaBytes, quotaCost(q));
}

/** quotaAvailable for a cost already known. */
export function costAvailable(backendBytes: number, quotaBytes: number | undefined, cost: number): boolean {
  return quotaBytes === undefined || cost === 0 || backendBytes + cost < quotaBytes;
}
