// The Cluster API's logic (etcd's AddMember/RemoveMember/UpdateMember/PromoteMember and
// MoveLeader) on top of EtcdServer: etcd's safety checks (strict reconfiguration, peer health,
// learner limits, with etcd's error codes), the ConfChange proposal, and waiting until it is
// applied locally. What a follower asks of the leader goes through leader-forward.ts.

import { createHash } from 'node:crypto';
import { ConfChangeType, ErrProposalDropped, type ConfChange } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import type { EtcdServer } from './server.js';
import type { MemberInfo } from '../membership/raft-cluster.js';
import { idToHex } from '@tsetcd/common';
import { checkPeerUrls } from '../membership/peer-urls.js';
import { Errors } from '../errors.js';
import { LeaderForward, type PeerRequester } from './leader-forward.js';

/** etcd's HealthInterval: a peer counts as connected if its stream has been up at least this long. */
export const healthIntervalMs = 5000;
/** etcd's maxLearners */
export const maxLearners = 1;
/** a learner is ready for promotion when its match index is at least this share of the leader's */
export const learnerReadyPercent = 0.9;

/** The parts of the peer transport the Cluster API needs. */
export interface PeerLink extends PeerRequester {
  /** since when (ms) the member's streams are up; 0: not connected */
  activeSince(id: bigint): number;
  /** the members to keep streams to */
  syncPeers(ids: bigint[]): void;
}

export interface ClusterOpsOptions {
  /** builds the peer transport, which serves this ClusterOps to peers (none: no peer listener) */
  peers?: (ops: ClusterOps) => PeerLink;
  /** called once this member has applied (or a peer reported) its own removal */
  onRemovedSelf?: () => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** etcd's NewMember with a time: sha1(sorted peer URLs + cluster name "" + unix seconds). */
export function newMemberId(peerUrls: string[], nowSeconds: number): bigint {
  const b = [...peerUrls].sort().join('') + String(nowSeconds);
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

export class ClusterOps {
  private readonly s: EtcdServer;
  private readonly peers: PeerLink | undefined;
  private readonly leader: LeaderForward;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly onRemovedSelf: (() => void) | undefined;

  constructor(s: EtcdServer, o: ClusterOpsOptions = {}) {
    this.s = s;
    this.onRemovedSelf = o.onRemovedSelf;
    this.peers = o.peers?.(this);
    this.leader = new LeaderForward(s, this.peers);
    this.peers?.syncPeers(s.cluster.ids());
    s.addListener({ confChangeApplied: (cc) => this.onApplied(cc) });
  }

  private onApplied(cc: ConfChange): void {
    this.peers?.syncPeers(this.s.cluster.ids());
    const key = `${cc.type}:${cc.nodeId}`;
    const ws = this.waiters.get(key);
    if (ws !== undefined) {
      this.waiters.delete(key);
      for (const w of ws) {
        clearTimeout(w.timer);
        w.resolve();
      }
    }
    if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === this.s.memberId) this.removedByPeer();
  }

  private removed = false;

  /** A peer refused us as removed (we may never apply our own removal: the leader stops sending). */
  removedByPeer(): void {
    if (this.removed) return;
    this.removed = true;
    this.s.log.warn('the member has been permanently removed from the cluster', { 'local-member-id': idToHex(this.s.memberId) });
    setImmediate(() => this.onRemovedSelf?.());
  }

  /** Proposes `cc` and resolves once this member applied it. */
  private configure(cc: ConfChange): Promise<void> {
    const key = `${cc.type}:${cc.nodeId}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const ws = this.waiters.get(key) ?? [];
        const i = ws.findIndex((w) => w.timer === timer);
        if (i >= 0) ws.splice(i, 1);
        if (ws.length === 0) this.waiters.delete(key);
        reject(Errors.timeout());
      }, this.s.requestTimeoutMs());
      const list = this.waiters.get(key) ?? [];
      list.push({ resolve, reject, timer });
      this.waiters.set(key, list);
      try {
        if (this.s.leader() === 0n) throw new ErrProposalDropped();
        this.s.proposeConfChange(cc);
      } catch (e) {
        clearTimeout(timer);
        list.pop();
        if (list.length === 0) this.waiters.delete(key);
        reject(e instanceof ErrProposalDropped ? Errors.noLeader() : e);
      }
    });
  }

  /** Fails every pending change (server stopping). */
  close(err: Error): void {
    for (const ws of this.waiters.values()) for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters.clear();
  }

  // ---- health of peers (etcd's isConnectedSince / numConnectedSince) ----

  private connectedSince(id: bigint, since: number): boolean {
    if (id === this.s.memberId) return true;
    const t = this.peers?.activeSince(id) ?? 0;
    return t !== 0 && t <= since;
  }

  private votingMembers(): MemberInfo[] {
    return this.s.cluster.members().filter((m) => !m.isLearner);
  }

  private connectedFully(): boolean {
    const since = Date.now() - healthIntervalMs;
    return this.votingMembers().every((m) => this.connectedSince(m.id, since));
  }

  private numConnected(members: MemberInfo[]): number {
    const since = Date.now() - healthIntervalMs;
    return members.filter((m) => this.connectedSince(m.id, since)).length;
  }

  /** published (started) voting members */
  private startedVoters(): number {
    return this.votingMembers().filter((m) => m.name !== '').length;
  }

  // ---- the API ----

  memberList(): MemberInfo[] {
    return this.s.cluster.members().sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private urlInUse(peerUrls: string[], except?: bigint): boolean {
    for (const m of this.s.cluster.members()) {
      if (m.id === except) continue;
      if (m.peerUrls.some((u) => peerUrls.includes(u))) return true;
    }
    return false;
  }

  async memberAdd(peerUrls: string[], isLearner: boolean): Promise<MemberInfo> {
    checkPeerUrls(peerUrls);
    const s = this.s;
    // etcd's mayAddMember first (strict reconfig check), then ValidateConfigurationChange:
    // ID, then peer URLs, then the learner count
    if (s.cfg.strictReconfigCheck !== false) {
      if (!isLearner) {
        // IsReadyToAddVotingMember: started voters must stay a quorum of the grown cluster
        const nmembers = this.votingMembers().length + 1;
        const nstarted = this.startedVoters();
        if (!(nstarted === 1 && nmembers === 2) && nstarted < Math.floor(nmembers / 2) + 1) throw Errors.memberNotEnoughStarted();
      }
      // a learner too needs every voter connected (isConnectedFullySince)
      if (!this.connectedFully()) throw Errors.unhealthy();
    }
    const id = newMemberId(peerUrls, Math.floor(Date.now() / 1000));
    if (s.cluster.has(id) || s.cluster.isRemoved(id)) throw Errors.memberExist();
    if (this.urlInUse(peerUrls)) throw Errors.peerUrlExist();
    if (isLearner) {
      const learners = s.cluster.members().filter((m) => m.isLearner).length;
      if (learners + 1 > maxLearners) throw Errors.tooManyLearners();
    }
    const info: MemberInfo = { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    const context = tsetcdpb.Member.encode({ ID: id, name: '', peerUrls: info.peerUrls, clientUrls: [], isLearner }).finish();
    await this.configure({ type: isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, nodeId: id, context });
    return s.cluster.member(id) ?? info;
  }

  async memberRemove(id: bigint): Promise<void> {
    const s = this.s;
    const m = s.cluster.member(id);
    if (m === undefined) throw Errors.memberNotFound();
    if (!m.isLearner && s.cfg.strictReconfigCheck !== false) {
      // etcd's IsReadyToRemoveVotingMember + the active-quorum check
      const voters = this.votingMembers();
      const nstarted = this.startedVoters() - (m.name !== '' ? 1 : 0);
      const remaining = voters.length - 1;
      if (nstarted < Math.floor(remaining / 2) + 1) throw Errors.memberNotEnoughStarted();
      const downed = id !== s.memberId && (this.peers?.activeSince(id) ?? 0) === 0;
      if (!downed) {
        const active = this.numConnected(voters);
        if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) throw Errors.unhealthy();
      }
    }
    await this.configure({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
  }

  async memberUpdate(id: bigint, peerUrls: string[]): Promise<void> {
    checkPeerUrls(peerUrls);
    const m = this.s.cluster.member(id);
    if (m === undefined) throw Errors.memberNotFound();
    if (this.urlInUse(peerUrls, id)) throw Errors.peerUrlExist();
    const context = tsetcdpb.Member.encode({ ID: id, name: m.name, peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner }).finish();
    await this.configure({ type: ConfChangeType.UpdateNode, nodeId: id, context });
  }

  /**
   * On the leader: checks and promotes. Elsewhere: asks the leader over its peer URL. Resolves
   * with the membership as the member that applied the promotion saw it.
   */
  async memberPromote(id: bigint): Promise<MemberInfo[]> {
    const s = this.s;
    if (!s.isLeader()) {
      const lead = s.leader();
      const lm = lead === 0n ? undefined : s.cluster.member(lead);
      if (lm === undefined || lm.peerUrls.length === 0) throw Errors.noLeader();
      return this.leader.promote(lead, id);
    }
    // A member added through another member may be committed but not yet applied here: catch
    // up first, or a promote right after the add would find no such member.
    await s.linearizableReadNotify();
    const m = s.cluster.member(id);
    if (m === undefined) throw Errors.memberNotFound();
    if (!m.isLearner) throw Errors.memberNotLearner();
    const st = s.raftStatus();
    const leaderMatch = st.progress?.get(s.memberId)?.match ?? 0;
    const learnerMatch = st.progress?.get(id)?.match ?? 0;
    if (learnerMatch < leaderMatch * learnerReadyPercent) throw Errors.learnerNotReady();
    if (s.cfg.strictReconfigCheck !== false) {
      // etcd's IsReadyToPromoteMember: started voters (the learner counts once promoted) keep quorum
      const nmembers = this.votingMembers().length + 1;
      const nstarted = this.startedVoters() + (m.name !== '' ? 1 : 0);
      if (!(nstarted === 1 && nmembers === 2) && nstarted < Math.floor(nmembers / 2) + 1) throw Errors.memberNotEnoughStarted();
      if (!this.connectedFully()) throw Errors.unhealthy();
    }
    await this.configure({ type: ConfChangeType.AddNode, nodeId: id, context: tsetcdpb.Member.encode({ ID: id, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: false }).finish() });
    return this.memberList();
  }

  /** MoveLeader: the leader hands over to a caught-up voter and waits for it to lead. */
  async moveLeader(target: bigint): Promise<void> {
    const s = this.s;
    if (!s.isLeader()) throw Errors.notLeader();
    const m = s.cluster.member(target);
    if (m === undefined || m.isLearner) throw Errors.badLeaderTransferee();
    if (target === s.memberId) return;
    s.transferLeadership(target);
    const deadline = Date.now() + s.requestTimeoutMs();
    while (s.leader() !== target) {
      if (Date.now() > deadline) throw Errors.timeoutLeaderTransfer();
      await new Promise((r) => setTimeout(r, Math.max(5, Math.floor(s.cfg.heartbeatIntervalMs / 2))));
    }
  }
}
