// etcd's backend quota (etcdserver/quota.go, v3rpc/quota.go): a request that adds data is refused
// with NOSPACE when the backend's current size plus the request's cost would reach
// --quota-backend-bytes (0: 2 GiB, below 0: no quota); the refusal first raises the NOSPACE alarm
// through raft. Requests that add nothing (deletes, reads, delete-only txns) cost 0 and always
// pass, so space can be freed.

import { etcdserverpb } from '@tsetcd/proto';
import { costAvailable, quotaCost, type QuotaRequest } from '../apply/quota-cost.js';
import { backendQuotaBytes } from '../etcdserver/config.js';
import type { ServerView } from '../etcdserver/server-view.js';
import { Errors } from '../errors.js';

/**
 * Refuses a request that does not fit under the quota (raising the NOSPACE alarm first): a
 * promise of the refusal, or undefined when it fits (no promise to wait on for every write).
 */
export function checkQuota(s: ServerView, q: QuotaRequest): Promise<void> | undefined {
  return checkQuotaCost(s, quotaCost(q));
}

/** checkQuota for a request of this cost (etcd's quota Cost). */
export function checkQuotaCost(s: ServerView, cost: number): Promise<void> | undefined {
  // a raised alarm alone does not stop the request here: as in etcd it goes through raft and
  // the applier refuses it
  if (costAvailable(s.dbSize(), backendQuotaBytes(s.cfg), cost)) return undefined;
  return refuse(s);
}

async function refuse(s: ServerView): Promise<void> {
  await s
    .propose({ alarm: { action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE, memberID: s.memberId, alarm: etcdserverpb.AlarmType.NOSPACE } })
    .catch(() => undefined);
  throw Errors.noSpace();
}
