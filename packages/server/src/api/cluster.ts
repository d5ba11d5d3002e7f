// The Cluster service (etcd's v3rpc/member.go): member add/remove/update/list/promote.

import type { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import type { MemberInfo } from '../membership/raft-cluster.js';
import type { ClusterOps } from '../etcdserver/cluster-ops.js';

function toPb(m: MemberInfo): etcdserverpb.Member {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

export class ClusterApi {
  constructor(
    private readonly s: ServerView,
    private readonly clusterOps: ClusterOps,
  ) {}

  private ops(): ClusterOps {
    return this.clusterOps;
  }

  /** etcd's cluster service header carries no revision */
  private header(): etcdserverpb.ResponseHeader {
    return { ...this.s.header(), revision: 0n };
  }

  private members(): etcdserverpb.Member[] {
    return this.ops().memberList().map(toPb);
  }

  async memberAdd(r: etcdserverpb.MemberAddRequest): Promise<etcdserverpb.MemberAddResponse> {
    const m = await this.ops().memberAdd(r.peerURLs, r.isLearner);
    return { header: this.header(), member: toPb(m), members: this.members() };
  }

  async memberRemove(r: etcdserverpb.MemberRemoveRequest): Promise<etcdserverpb.MemberRemoveResponse> {
    await this.ops().memberRemove(r.ID);
    return { header: this.header(), members: this.members() };
  }

  async memberUpdate(r: etcdserverpb.MemberUpdateRequest): Promise<etcdserverpb.MemberUpdateResponse> {
    await this.ops().memberUpdate(r.ID, r.peerURLs);
    return { header: this.header(), members: this.members() };
  }

  async memberPromote(r: etcdserverpb.MemberPromoteRequest): Promise<etcdserverpb.MemberPromoteResponse> {
    // the list the promoting leader saw (a follower may not have applied the promotion yet)
    const members = await this.ops().memberPromote(r.ID);
    return { header: this.header(), members: members.map(toPb) };
  }

  /** Maintenance.MoveLeader: hand leadership to another voter and wait for it. */
  async moveLeader(r: etcdserverpb.MoveLeaderRequest): Promise<etcdserverpb.MoveLeaderResponse> {
    await this.ops().moveLeader(r.targetID);
    // etcd 3.4 answers without a response header
    return { header: undefined };
  }

  memberList(): etcdserverpb.MemberListResponse {
    return { header: this.header(), members: this.members() };
  }
}
