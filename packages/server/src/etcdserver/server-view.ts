// The member as the client API (api/) sees it: proposing, linearizable reads, response headers,
// the read side of its state (MVCC, leases, watches, members, auth, backend sizes) and its
// status — nothing of raft's driving, the peer transport, boot or shutdown.

import type { EtcdServer } from './server.js';

export type ServerView = Pick<
  EtcdServer,
  // configuration and identity
  | 'cfg'
  | 'log'
  | 'memberId'
  | 'clusterId'
  | 'requestTimeoutMs'
  // writes
  | 'propose'
  | 'proposeFull'
  | 'nextId'
  | 'leaseRenew'
  // reads
  | 'linearizableReadNotify'
  | 'header'
  | 'store'
  | 'applier'
  | 'lessor'
  | 'hub'
  | 'cluster'
  | 'auth'
  | 'backend'
  | 'alarmList'
  // status
  | 'isLeader'
  | 'leader'
  | 'isStopped'
  | 'raftTerm'
  | 'raftIndex'
  | 'raftAppliedIndex'
  | 'pendingCount'
  | 'stats'
  | 'addListener'
>;
