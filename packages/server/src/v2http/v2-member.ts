// The member as the v2 API sees it: its v2 store for local reads and watches, proposing v2
// requests through raft, and what the v2 headers and stats report.

import type { ApplyResult } from '../apply/applier.js';
import type { V2Request } from '../v2store/apply.js';
import type { V2Store } from '../v2store/store.js';
import type { MemberInfo } from '../membership/raft-cluster.js';
import type { ServerLogger } from '../etcdserver/config.js';

export interface V2Member {
  readonly store: V2Store;
  /** proposes a v2 request; resolves with its apply result (never rejects) */
  propose(r: Partial<V2Request>): Promise<ApplyResult>;
  raftTerm(): number;
  /** raft's commit index (X-Raft-Index) */
  raftIndex(): number;
  clusterId(): bigint;
  memberId(): bigint;
  name(): string;
  leader(): bigint;
  isLeader(): boolean;
  members(): MemberInfo[];
  /** raft's state: Leader, Follower, Candidate, PreCandidate */
  raftState(): string;
  /** when this member started, and when it last saw the leader change (Unix ns) */
  startTimeNs(): bigint;
  leaderSinceNs(): bigint;
  /** append requests (MsgApp) this member sent to and received from peers */
  appendRequests(): { sent: number; received: number };
  /** /v2/stats/leader's body (this member leads) */
  leaderStatsJson(): string;
  /** every member's client URLs (/v2/machines) */
  clientUrls(): string[];
  /** etcd's request timeout */
  requestTimeoutMs(): number;
  log: ServerLogger;
}
