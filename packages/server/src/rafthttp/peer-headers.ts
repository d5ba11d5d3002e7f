// HTTP header names, paths and versions of the peer protocol (etcd's rafthttp names, so logs and
// curl output read the same).

import { serverVersion } from '../etcdserver/config.js';

export const PeerHeader = {
  clusterId: 'x-etcd-cluster-id',
  from: 'x-server-from',
  to: 'x-raft-to',
  serverVersion: 'x-server-version',
  minClusterVersion: 'x-min-cluster-version',
  peerUrls: 'x-peerurls',
} as const;

export const PeerPath = {
  /** etcd's pipeline: one raft message per POST, used while no stream is attached */
  pipeline: '/raft',
  /** GET /raft/stream/msgapp/<dialer's ID>: the dialed member writes MsgApp frames into the answer */
  streamMsgApp: '/raft/stream/msgapp/',
  /** GET /raft/stream/message/<dialer's ID>: every other message type */
  streamMessage: '/raft/stream/message/',
  /** every stream path starts so (etcd's RaftStreamPrefix + "/") */
  streamPrefix: '/raft/stream/',
  snapshot: '/raft/snapshot',
  members: '/members',
  version: '/version',
  promote: '/members/promote/',
  leases: '/leases',
  hashKV: '/members/hashkv',
} as const;

/** What a member says about its versions on every raft request (etcd's X-Server-Version, X-Min-Cluster-Version). */
export const PeerVersion = { server: serverVersion, minCluster: '3.0.0' } as const;

export type StreamKind = 'msgapp' | 'message';

/** The GET path a member dials to receive `kind` messages from a peer. */
export function streamPath(kind: StreamKind, dialer: bigint): string {
  return (kind === 'msgapp' ? PeerPath.streamMsgApp : PeerPath.streamMessage) + dialer.toString(16);
}
