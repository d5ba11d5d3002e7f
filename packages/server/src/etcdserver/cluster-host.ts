// EtcdServer seen from the peer transport (rafthttp's RaftHost).

import { join } from 'node:path';
import type { Message } from '@tsetcd/raft';
import type { RaftHost } from '../rafthttp/peer-transport.js';
import type { EtcdServer } from './server.js';
import type { ClusterOps } from './cluster-ops.js';
import { membersToJson } from '../membership/remote-cluster.js';
import { clusterVersion, serverVersion } from './config.js';

export class ClusterHost implements RaftHost {
  private seq = 0;
  constructor(
    private readonly s: EtcdServer,
    private readonly ops: ClusterOps,
  ) {}

  get memberId(): bigint {
    return this.s.memberId;
  }

  get clusterId(): bigint {
    return this.s.clusterId;
  }

  step(m: Message): void {
    this.s.step(m);
  }

  reportUnreachable(id: bigint): void {
    this.s.reportUnreachable(id);
  }

  proposalUndelivered(m: Message): void {
    this.s.proposalUndelivered(m);
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    this.s.reportSnapshot(id, ok);
  }

  hashKV(rev: bigint): Promise<{ hash: number; revision: bigint; compactRevision: bigint }> {
    return this.s.store.hashKV(rev);
  }

  peerUrlsOf(id: bigint): string[] | undefined {
    return this.s.cluster.member(id)?.peerUrls;
  }

  isRemovedMember(id: bigint): boolean {
    return this.s.cluster.isRemoved(id);
  }

  async snapshotDbFile(m: Message): Promise<string> {
    const file = join(this.snapshotDir(), `outgoing-${m.to.toString(16)}-${++this.seq}.snap.db`);
    // etcd's merged snapshot: raft picked the last stored snapshot, which may predate the
    // recipient's addition (raft refuses a snapshot whose membership lacks it) or the entries
    // still held in memory (the log is trimmed between snapshots). The message carries the state
    // at the applied index instead, taken before the copy: the copy holds at least every entry
    // up to it, and the recipient continues from the entry after it.
    const applied = m.snapshot !== undefined ? this.s.snapshotAtApplied() : undefined;
    await this.s.backend.copyTo(file);
    if (applied !== undefined) m.snapshot = applied;
    return file;
  }

  receiveSnapshot(m: Message, dbFile: string): Promise<void> {
    return this.s.receiveSnapshot(m, dbFile);
  }

  snapshotDir(): string {
    return join(this.s.cfg.dataDir, 'member', 'snap');
  }

  membersJson(): string {
    return membersToJson(this.ops.memberList());
  }

  versions(): { etcdserver: string; etcdcluster: string } {
    return { etcdserver: serverVersion, etcdcluster: this.s.cluster.version ?? clusterVersion };
  }

  leaseRenew(id: bigint): number {
    try {
      return this.s.leaseRenew(id);
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_LEASE_NOT_FOUND') return -1;
      throw e;
    }
  }

  removedByPeer(): void {
    this.ops.removedByPeer();
  }

  async promoteMember(id: bigint): Promise<string> {
    return membersToJson(await this.ops.memberPromote(id));
  }
}
