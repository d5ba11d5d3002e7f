// Lease service: Grant, Revoke, KeepAlive (stream), TimeToLive, Leases (etcd's v3rpc/lease.go).

import { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import { Errors, isServerError } from '../errors.js';
import { noLease } from '../lease/lessor.js';
import { checkQuota } from './quota.js';

const positiveMask = (1n << 63n) - 1n;

export class LeaseApi {
  /** `forwardRenew`: a follower's keep-alive asked of the leader (the cluster layer); none: "no leader" */
  constructor(
    private readonly s: ServerView,
    private readonly forwardRenew?: (id: bigint) => Promise<number>,
  ) {}

  async grant(r: etcdserverpb.LeaseGrantRequest): Promise<etcdserverpb.LeaseGrantResponse> {
    const s = this.s;
    // (under a raised NOSPACE alarm the grant goes through raft and the applier refuses it, as in etcd)
    await checkQuota(s, { leaseGrant: r });
    let id = r.ID;
    // no ID given: choose a positive one
    while (id === noLease) id = s.nextId() & positiveMask;
    const resp = (await s.propose({ leaseGrant: { ID: id, TTL: r.TTL } })) as etcdserverpb.LeaseGrantResponse;
    resp.header = s.header(resp.header?.revision);
    return resp;
  }

  async revoke(r: etcdserverpb.LeaseRevokeRequest): Promise<etcdserverpb.LeaseRevokeResponse> {
    const resp = (await this.s.propose({ leaseRevoke: r })) as etcdserverpb.LeaseRevokeResponse;
    resp.header = this.s.header(resp.header?.revision);
    return resp;
  }

  /** One keep-alive: etcd answers an unknown lease with TTL 0 rather than an error. */
  keepAliveOnce(id: bigint): etcdserverpb.LeaseKeepAliveResponse | Promise<etcdserverpb.LeaseKeepAliveResponse> {
    // a follower forwards the renewal to the leader, which owns lease expiry
    if (!this.s.isLeader() && this.s.leader() !== 0n && this.s.cluster.size > 1) {
      if (this.forwardRenew === undefined) throw Errors.noLeader();
      return this.forwardRenew(id).then((ttl) => ({ header: this.s.header(), ID: id, TTL: BigInt(ttl) }));
    }
    let ttl = 0;
    try {
      ttl = this.s.leaseRenew(id);
    } catch (e) {
      if (!isServerError(e, 'ERR_LEASE_NOT_FOUND')) throw e;
    }
    return { header: this.s.header(), ID: id, TTL: BigInt(ttl) };
  }

  timeToLive(r: etcdserverpb.LeaseTimeToLiveRequest): etcdserverpb.LeaseTimeToLiveResponse {
    const s = this.s;
    const l = s.leaseLookup(r.ID);
    // etcd answers an unknown lease with TTL -1 (etcdctl prints "already expired")
    if (l === undefined) return { header: s.header(), ID: r.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    // etcd: int64(Remaining().Seconds()), truncated toward zero; negative once expired and not yet revoked
    const ttl = Number.isFinite(l.remainingMs) ? Math.trunc(l.remainingMs / 1000) : l.grantedTtlSeconds;
    return { header: s.header(), ID: r.ID, TTL: BigInt(ttl), grantedTTL: BigInt(l.grantedTtlSeconds), keys: r.keys ? l.keys() : [] };
  }

  leases(): etcdserverpb.LeaseLeasesResponse {
    return { header: this.s.header(), leases: this.s.leaseIds().map((id) => ({ ID: id })) };
  }
}
