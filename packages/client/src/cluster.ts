// Cluster membership.
import type { etcdserverpb } from '@tsetcd/proto';
import { header, type ResponseHeader } from './kv.js';
import type { RawClient } from './raw.js';
import type { CallOptions } from './transport.js';

export type Member = etcdserverpb.Member;

export interface MembersResult {
  header: ResponseHeader;
  members: Member[];
}

export class Cluster {
  constructor(private readonly raw: RawClient) {}

  async memberList(opts?: CallOptions): Promise<MembersResult> {
    const r = await this.raw.cluster.memberList({}, opts);
    return { header: header(r.header), members: r.members };
  }

  async memberAdd(peerURLs: string[], opts?: { isLearner?: boolean } & CallOptions): Promise<MembersResult & { member: Member | undefined }> {
    const r = await this.raw.cluster.memberAdd({ peerURLs, isLearner: opts?.isLearner === true }, opts);
    return { header: header(r.header), member: r.member, members: r.members };
  }

  async memberRemove(id: bigint, opts?: CallOptions): Promise<MembersResult> {
    const r = await this.raw.cluster.memberRemove({ ID: id }, opts);
    return { header: header(r.header), members: r.members };
  }

  async memberUpdate(id: bigint, peerURLs: string[], opts?: CallOptions): Promise<MembersResult> {
    const r = await this.raw.cluster.memberUpdate({ ID: id, peerURLs }, opts);
    return { header: header(r.header), members: r.members };
  }

  async memberPromote(id: bigint, opts?: CallOptions): Promise<MembersResult> {
    const r = await this.raw.cluster.memberPromote({ ID: id }, opts);
    return { header: header(r.header), members: r.members };
  }
}
