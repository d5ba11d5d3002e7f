// HTTP header names and paths of the peer protocol (etcd's rafthttp names, so logs and curl
// output read the same).

export const PeerHeader = {
  clusterId: 'x-etcd-cluster-id',
  from: 'x-server-from',
  to: 'x-raft-to',
  serverVersion: 'x-server-version',
  minClusterVersion: 'x-min-cluster-version',
} as const;

export const PeerPath = {
  streamMsgApp: '/raft/stream/msgapp',
  streamMessage: '/raft/stream/message',
  snapshot: '/raft/snapshot',
  members: '/members',
  version: '/version',
  promote: '/members/promote/',
  leases: '/leases',
  hashKV: '/members/hashkv',
} as const;

export type StreamKind = 'msgapp' | 'message';
