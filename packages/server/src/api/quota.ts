// etcd's backend quota (etcdserver/quota.go, v3rpc/quota.go): a request that adds data is refused
// with NOSPACE when the backend's current size plus the request's cost would reach
// --quota-backend-bytes; the refusal first raises the NOSPACE alarm through raft. Requests that
// add nothing (deletes, reads, delete-only txns) cost 0 and always pass, so space can be freed.

import { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import { Errors } from '../errors.js';

/** etcd's estimate of a key-value's bytes beyond its key and value. */
const kvOverhead = 256;
/** etcd's estimate of a lease's bytes. */
const leaseOverhead = 64;

export type QuotaRequest = { put: etcdserverpb.PutRequest } | { txn: etcdserverpb.TxnRequest } | { leaseGrant: etcdserverpb.LeaseGrantRequest };

function costPut(r: etcdserverpb.PutRequest): number {
  return kvOverhead + r.key.length + r.value.length;
}

/** The puts of one branch (nested txns are not counted, as in etcd). */
function costOps(ops: etcdserverpb.RequestOp[]): number {
  let n = 0;
  for (const op of ops) if (op.request?.$case === 'requestPut') n += costPut(op.request.value);
  return n;
}

/** Bytes a request may add to the backend, by etcd's estimate (Cost in etcd's quota.go). */
export function quotaCost(q: QuotaRequest): number {
  if ('put' in q) return costPut(q.put);
  if ('txn' in q) return Math.max(costOps(q.txn.success), costOps(q.txn.failure));
  return leaseOverhead;
}

/** Refuses a request that does not fit under the quota (raising the NOSPACE alarm first). */
export async function checkQuota(s: ServerView, q: QuotaRequest): Promise<void> {
  const quota = s.cfg.quotaBackendBytes;
  if (quota <= 0) return;
  const cost = quotaCost(q);
  // a raised alarm alone does not stop the request here: as in etcd it goes through raft and
  // the applier refuses it
  if (cost === 0 || s.backend.size() + cost < quota) return;
  await s
    .propose({ alarm: { action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE, memberID: s.memberId, alarm: etcdserverpb.AlarmType.NOSPACE } })
    .catch(() => undefined);
  throw Errors.noSpace();
}
