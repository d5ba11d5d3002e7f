// Maintenance and Cluster services (etcd's v3rpc/maintenance.go, member.go) for one member.

import { createHash } from 'node:crypto';
import { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import { serverVersion } from '../etcdserver/config.js';
import { Errors } from '../errors.js';
import type { ServerStreamCall } from '../grpc/index.js';

/** etcd streams snapshots in 32 KiB blobs (snapshotSendBufferSize). */
export const snapshotChunkBytes = 32 * 1024;

function alarmName(t: etcdserverpb.AlarmType): string {
  return etcdserverpb.AlarmType[t] ?? String(t);
}

export class MaintenanceApi {
  constructor(private readonly s: ServerView) {}

  status(): etcdserverpb.StatusResponse {
    const s = this.s;
    return {
      header: s.header(),
      version: serverVersion,
      dbSize: BigInt(s.dbSize()),
      leader: s.leader(),
      raftIndex: BigInt(s.raftIndex()),
      raftTerm: BigInt(s.raftTerm()),
      raftAppliedIndex: BigInt(s.raftAppliedIndex()),
      errors: s.alarmList().map((a) => `memberID:${a.memberID} alarm:${alarmName(a.alarm)} `),
      dbSizeInUse: BigInt(s.dbSizeInUse()),
      isLearner: s.isLearner(),
    };
  }

  async alarm(r: etcdserverpb.AlarmRequest): Promise<etcdserverpb.AlarmResponse> {
    const resp = (await this.s.propose({ alarm: r })) as etcdserverpb.AlarmResponse;
    // etcd 3.4 answers alarm requests without a response header
    resp.header = undefined;
    return resp;
  }

  async hash(): Promise<etcdserverpb.HashResponse> {
    const header = this.s.header();
    return { header, hash: await this.s.backendHash() };
  }

  async hashKV(r: etcdserverpb.HashKVRequest): Promise<etcdserverpb.HashKVResponse> {
    const h = await this.s.hashKV(r.revision);
    return { header: this.s.header(h.revision), hash: h.hash, compactRevision: h.compactRevision };
  }

  async defragment(): Promise<etcdserverpb.DefragmentResponse> {
    this.s.log.info('starting defragment');
    await this.s.defragment();
    this.s.log.info('finished defragment');
    // etcd 3.4 answers without a response header
    return { header: undefined };
  }

  /**
   * Streams the backend as etcd's snapshot: a bbolt file in etcd's bucket layout (one point in
   * time, written to a temporary file in slices, see bolt/etcd-snapshot.ts) in 32 KiB blobs,
   * then its sha256 as the last blob (as etcd does).
   */
  async snapshot(call: ServerStreamCall): Promise<void> {
    const snap = await this.s.snapshot();
    try {
      const h = createHash('sha256');
      for (let sent = 0; sent < snap.size; ) {
        const blob = await snap.read(sent, snapshotChunkBytes);
        sent += blob.length;
        h.update(blob);
        // etcd 3.4 sends snapshot chunks without a response header
        if (!call.write({ header: undefined, remainingBytes: BigInt(snap.size - sent), blob })) await call.drained();
        if (call.cancelled) return;
      }
      call.write({ header: undefined, remainingBytes: 0n, blob: h.digest() });
      call.end();
    } finally {
      await snap.close();
    }
  }

  moveLeader(r: etcdserverpb.MoveLeaderRequest): etcdserverpb.MoveLeaderResponse {
    const s = this.s;
    if (!s.isLeader()) throw Errors.notLeader();
    const m = s.cluster.member(r.targetID);
    if (m === undefined || m.isLearner) throw Errors.badLeaderTransferee();
    // the only voter is already the leader: nothing to transfer (etcd 3.4 answers without a header)
    return { header: undefined };
  }

  memberList(): etcdserverpb.MemberListResponse {
    const s = this.s;
    const members = s.cluster.members()
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((m) => ({ ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner }));
    // etcd's cluster service header carries no revision
    return { header: { ...s.header(), revision: 0n }, members };
  }
}
