// Asking the leader, over its peer URL, for what only the leader may do, on behalf of a
// follower: a lease renewal (the leader owns lease expiry; etcd forwards LeaseKeepAlive to the
// leader's /leases) and a learner's promotion (etcd's /members/promote/<id>). The answers and
// refusals come back as etcd's errors.

import { etcdErrorNameOf, idToHex } from '@tsetcd/common';
import type { EtcdServer } from './server.js';
import type { MemberInfo } from '../membership/raft-cluster.js';
import { membersFromJson } from '../membership/remote-cluster.js';
import { Errors, GrpcCode, ServerError } from '../errors.js';

/** Per-call budget of a lease renewal forwarded to the leader. */
export const leaseForwardTimeoutMs = 2000;

/** A short request to a member's peer listener (with the peer headers and TLS credentials). */
export interface PeerRequester {
  request(to: bigint, method: 'GET' | 'POST', path: string, timeoutMs: number, body?: { contentType: string; data: string }): Promise<{ status: number; body: string }>;
}

/** What the forwarding reads of the member: who leads, where it listens, the request timeout. */
type LeaderInfo = Pick<EtcdServer, 'leader' | 'requestTimeoutMs'> & { readonly cluster: Pick<EtcdServer['cluster'], 'member'> };

export class LeaderForward {
  /** `peers` undefined: a member without a peer listener, which has no leader to ask */
  constructor(
    private readonly s: LeaderInfo,
    private readonly peers: PeerRequester | undefined,
  ) {}

  /** A follower's LeaseKeepAlive. Resolves with the TTL the leader gave (0: no such lease). */
  async leaseRenew(id: bigint): Promise<number> {
    const lead = this.s.leader();
    if (lead === 0n || this.peers === undefined || this.s.cluster.member(lead) === undefined) throw Errors.noLeader();
    let a: { status: number; body: string };
    try {
      a = await this.peers.request(lead, 'POST', '/leases', leaseForwardTimeoutMs, { contentType: 'application/json', data: JSON.stringify({ id: idToHex(id) }) });
    } catch (e) {
      throw (e as { code?: string }).code === 'ERR_RAFTHTTP_TIMEOUT' ? Errors.timeout() : Errors.noLeader();
    }
    if (a.status !== 200) throw Errors.noLeader();
    try {
      const ttl = (JSON.parse(a.body) as { ttl: number }).ttl;
      return ttl < 0 ? 0 : ttl;
    } catch {
      throw Errors.noLeader();
    }
  }

  /** MemberPromote on a follower, asked of leader `lead`: the membership as the leader saw it. */
  async promote(lead: bigint, id: bigint): Promise<MemberInfo[]> {
    if (this.peers === undefined) throw Errors.noLeader();
    let a: { status: number; body: string };
    try {
      a = await this.peers.request(lead, 'POST', `/members/promote/${idToHex(id)}`, this.s.requestTimeoutMs());
    } catch (e) {
      throw (e as { code?: string }).code === 'ERR_RAFTHTTP_TIMEOUT' ? Errors.timeout() : Errors.unhealthy();
    }
    if (a.status === 200) {
      try {
        return membersFromJson(a.body).map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner }));
      } catch {
        throw Errors.unhealthy();
      }
    }
    let e: { code: string; message: string };
    try {
      e = JSON.parse(a.body) as { code: string; message: string };
    } catch {
      throw new ServerError('ERR_PROMOTE_FORWARD', GrpcCode.Unavailable, `etcdserver: promote forwarded to leader failed (HTTP ${a.status})`);
    }
    const known = etcdErrorNameOf(String(e.message));
    throw known !== undefined ? Errors[known]() : new ServerError(String(e.code), GrpcCode.Unknown, String(e.message));
  }
}
