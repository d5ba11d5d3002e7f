// Who may talk to this member's peer port, and what they may say. Every request to a
// member-only peer endpoint passes admitPeer before its handler runs; every raft message that
// arrives passes checkMessage before raft sees it. Both throw PeerRefusal (etcd's status and
// text), which the peer handler answers with.

import type { IncomingHttpHeaders } from 'node:http';
import { MessageType, type Message } from '@tsetcd/raft';
import { PeerHeader, PeerVersion } from './peer-headers.js';
import { PeerRefusal } from './errors.js';

/** What the checks need to know about the local member and the membership. */
export interface PeerDirectory {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** peer URLs of a current member (undefined: not a member) */
  peerUrlsOf(id: bigint): string[] | undefined;
  isRemovedMember(id: bigint): boolean;
}

const memberIdPattern = /^[0-9a-f]{1,16}$/i;

/** A member (or lease) ID as etcd writes it in headers and paths: hex, no padding; undefined if malformed. */
export function parseHexId(s: string | string[] | undefined): bigint | undefined {
  if (typeof s !== 'string' || !memberIdPattern.test(s)) return undefined;
  return BigInt('0x' + s);
}

/** How a route names its sender and whether it is a raft route (version checks). */
export interface AdmitOptions {
  /**
   * the sender as the request names it (default X-Server-From); stream dials carry it in the path
   * and check the path first, so a function runs after the cluster ID check and may refuse
   */
  from?: () => string;
  /** raft routes (streams, pipeline, snapshot) check the peer's versions first, as etcd does */
  versions?: boolean;
}

const semverPattern = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** major*1e9+minor of a version header; an absent one is etcd 2.0's (which sent none), a malformed one undefined. */
function majorMinor(v: string | string[] | undefined): number | undefined {
  if (v === undefined || v === '') return 2e9;
  if (typeof v !== 'string') return undefined;
  const m = semverPattern.exec(v);
  return m === null ? undefined : Number(m[1]) * 1e9 + Number(m[2]);
}

/**
 * etcd's checkVersionCompatibility: the peer's server version must be at least our minimum
 * cluster version and its minimum cluster version at most our server version (major.minor);
 * else 412 "incompatible version". A version etcd could not parse is refused the same way.
 */
export function checkVersions(headers: IncomingHttpHeaders): void {
  const server = majorMinor(headers[PeerHeader.serverVersion]);
  const minCluster = majorMinor(headers[PeerHeader.minClusterVersion]);
  const localServer = majorMinor(PeerVersion.server)!;
  const localMinCluster = majorMinor(PeerVersion.minCluster)!;
  if (server === undefined || minCluster === undefined || server < localMinCluster || minCluster > localServer) throw new PeerRefusal(412, 'incompatible version');
}

/**
 * etcd's checks of a peer request, in etcd's order: the versions on raft routes (412
 * "incompatible version"), the cluster ID (412 "cluster ID mismatch"), the sender (404 "invalid
 * from" when unreadable, 410 "removed member" when removed, 404 "error sender not found" when
 * not a current member — the local member itself included), and the receiver (412 "to field
 * mismatch"). Returns the sender's member ID.
 */
export function admitPeer(headers: IncomingHttpHeaders, dir: PeerDirectory, o: AdmitOptions = {}): bigint {
  if (o.versions === true) checkVersions(headers);
  const cid = headers[PeerHeader.clusterId];
  if (cid !== dir.clusterId.toString(16)) throw new PeerRefusal(412, 'cluster ID mismatch');
  const from = parseHexId(o.from !== undefined ? o.from() : headers[PeerHeader.from]);
  if (from === undefined) throw new PeerRefusal(404, 'invalid from');
  if (dir.isRemovedMember(from)) throw new PeerRefusal(410, 'removed member');
  if (from === dir.memberId || dir.peerUrlsOf(from) === undefined) throw new PeerRefusal(404, 'error sender not found');
  if (headers[PeerHeader.to] !== dir.memberId.toString(16)) throw new PeerRefusal(412, 'to field mismatch');
  return from;
}

/** Message types a peer may send on each channel (local-only types never come from the network). */
export const acceptedTypes = {
  msgapp: new Set([MessageType.MsgApp]),
  message: new Set([
    MessageType.MsgProp,
    MessageType.MsgAppResp,
    MessageType.MsgVote,
    MessageType.MsgVoteResp,
    MessageType.MsgHeartbeat,
    MessageType.MsgHeartbeatResp,
    MessageType.MsgTransferLeader,
    MessageType.MsgTimeoutNow,
    MessageType.MsgReadIndex,
    MessageType.MsgReadIndexResp,
    MessageType.MsgPreVote,
    MessageType.MsgPreVoteResp,
  ]),
  snapshot: new Set([MessageType.MsgSnap]),
  /** etcd's pipeline (POST /raft) carries whatever a stream would while none is attached */
  pipeline: new Set<MessageType>(),
} as const;
for (const t of [...acceptedTypes.msgapp, ...acceptedTypes.message]) acceptedTypes.pipeline.add(t);

export type MessageChannel = keyof typeof acceptedTypes;

/**
 * Requests raft forwards towards the leader keep their originator as `from` (answers go back to
 * it; a MsgTransferLeader names the transferee there): any current member, not just the sender.
 */
const forwardedTypes = new Set([MessageType.MsgProp, MessageType.MsgReadIndex, MessageType.MsgTransferLeader]);

/**
 * A decoded raft message from admitted sender `from`: its type must belong on the channel it came
 * by, it must say it is from the sender (a member cannot speak for another; forwarded requests
 * may name another current member) and be addressed to this member.
 */
export function checkMessage(m: Message, from: bigint, dir: PeerDirectory, channel: MessageChannel): void {
  if (!acceptedTypes[channel].has(m.type)) throw new PeerRefusal(400, 'wrong raft message type');
  if (m.from !== from) {
    const originatorOk = forwardedTypes.has(m.type) && m.from !== dir.memberId && !dir.isRemovedMember(m.from) && dir.peerUrlsOf(m.from) !== undefined;
    if (!originatorOk) throw new PeerRefusal(400, 'raft message sender mismatch');
  }
  if (m.to !== dir.memberId) throw new PeerRefusal(412, 'to field mismatch');
}
