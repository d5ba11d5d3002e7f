// The member as the v2 API (v2http/) sees it, built over an EtcdServer like serverView().

import type { EtcdServer } from './server.js';
import type { V2Member } from '../v2http/v2-member.js';

export function v2View(s: EtcdServer): V2Member {
  return {
    store: s.v2store,
    propose: (r) => s.proposeV2(r).catch((err: Error) => ({ err })),
    raftTerm: () => s.raftTerm(),
    raftIndex: () => s.raftIndex(),
    clusterId: () => s.clusterId,
    memberId: () => s.memberId,
    name: () => s.cfg.name,
    leader: () => s.leader(),
    isLeader: () => s.isLeader(),
    members: () => s.cluster.members(),
    raftState: () => s.raftStatus().state,
    startTimeNs: () => s.startedAtNs,
    leaderSinceNs: () => s.leaderSinceNs,
    appendRequests: () => ({ sent: s.stats.appendRequestsSent, received: s.stats.appendRequestsReceived }),
    leaderStatsJson: () =>
      s.leaderStats.json(
        s.memberId,
        s.cluster.members().map((m) => m.id).filter((id) => id !== s.memberId),
      ),
    clientUrls: () => s.cluster.members().flatMap((m) => m.clientUrls),
    requestTimeoutMs: () => s.requestTimeoutMs(),
    log: s.log,
  };
}
