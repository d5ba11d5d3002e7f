// RaftCluster (etcd's api/membership/cluster.go): the members of the cluster as this member has
// applied them, the IDs removed for good, the cluster version, and their persistence in the
// backend's members / members_removed / cluster buckets. Changed only by applied raft entries
// (ConfChanges, member attributes, the cluster version) or reloaded from the backend (restart,
// installed snapshot).

import { ConfChangeType, type ConfChange } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import { idToHex } from '@tsetcd/common';
import { Buckets, type Backend } from '../backend/backend.js';

export interface MemberInfo {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface ClusterLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
}

const clusterVersionKey = Buffer.from('clusterVersion');

function toPbMember(m: MemberInfo): tsetcdpb.Member {
  return { ID: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner };
}

function fromPbMember(m: tsetcdpb.Member): MemberInfo {
  return { id: m.ID, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner };
}

/** "major.minor", as etcd logs a cluster version */
export function majorMinor(ver: string): string {
  return ver.split('.').slice(0, 2).join('.');
}

export class RaftCluster {
  private readonly byId = new Map<bigint, MemberInfo>();
  private readonly removedIds = new Set<bigint>();
  private ver: string | undefined;
  private backend: Backend | undefined;
  /** this member's ID and the cluster's (fixed once the member boots) */
  localId = 0n;
  clusterId = 0n;

  constructor(private readonly log: ClusterLogger) {}

  setIds(localId: bigint, clusterId: bigint): void {
    this.localId = localId;
    this.clusterId = clusterId;
  }

  /** Loads members, removed IDs and the cluster version from `b`, which persists every change after. */
  recover(b: Backend): void {
    this.backend = b;
    this.byId.clear();
    this.removedIds.clear();
    for (const [, v] of b.rangeAux(Buckets.members)) {
      const m = fromPbMember(tsetcdpb.Member.decode(v));
      this.byId.set(m.id, m);
    }
    for (const [k] of b.rangeAux(Buckets.membersRemoved)) this.removedIds.add(BigInt('0x' + k.toString()));
    const cv = b.getAux(Buckets.cluster, clusterVersionKey);
    if (cv !== undefined) this.ver = cv.toString();
  }

  /** Members known before they are applied (a joining member learns them from the cluster). */
  addKnown(members: MemberInfo[]): void {
    for (const m of members) this.byId.set(m.id, { ...m, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls] });
  }

  member(id: bigint): MemberInfo | undefined {
    return this.byId.get(id);
  }

  has(id: bigint): boolean {
    return this.byId.has(id);
  }

  /** members in the order they became known */
  members(): MemberInfo[] {
    return [...this.byId.values()];
  }

  ids(): bigint[] {
    return [...this.byId.keys()];
  }

  get size(): number {
    return this.byId.size;
  }

  /** removed from the cluster: the ID may never come back */
  isRemoved(id: bigint): boolean {
    return this.removedIds.has(id);
  }

  /** the cluster version (undefined until the leader has set it) */
  get version(): string | undefined {
    return this.ver;
  }

  private persist(m: MemberInfo): void {
    this.backend?.putAux(Buckets.members, Buffer.from(idToHex(m.id)), Buffer.from(tsetcdpb.Member.encode(toPbMember(m)).finish()));
  }

  /** An applied ConfChange: add, promote, update or remove a member, and persist it. */
  applyConfChange(cc: ConfChange): void {
    const b = this.backend;
    const key = Buffer.from(idToHex(cc.nodeId));
    const existing = this.byId.get(cc.nodeId);
    const cid = idToHex(this.clusterId);
    if (cc.type === ConfChangeType.AddNode && existing !== undefined && existing.isLearner) {
      // promotion of a learner
      existing.isLearner = false;
      this.persist(existing);
      this.log.info('promote member', { 'cluster-id': cid, 'promoted-member-id': idToHex(cc.nodeId) });
    } else if (cc.type === ConfChangeType.UpdateNode && existing !== undefined) {
      const m = cc.context.length > 0 ? tsetcdpb.Member.decode(cc.context) : undefined;
      if (m !== undefined) existing.peerUrls = m.peerUrls;
      this.persist(existing);
      this.log.info('updated member', { 'cluster-id': cid, 'updated-remote-peer-id': idToHex(cc.nodeId), 'updated-remote-peer-urls': existing.peerUrls });
    } else if (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode) {
      if (existing !== undefined) {
        // known from a join (remote member list): persist it
        this.persist(existing);
      } else {
        const m = cc.context.length > 0 ? tsetcdpb.Member.decode(cc.context) : undefined;
        const info: MemberInfo = {
          id: cc.nodeId,
          name: m?.name ?? '',
          peerUrls: m?.peerUrls ?? [],
          clientUrls: m?.clientUrls ?? [],
          isLearner: cc.type === ConfChangeType.AddLearnerNode,
        };
        this.byId.set(cc.nodeId, info);
        this.persist(info);
        this.log.info('added member', { 'cluster-id': cid, 'added-peer-id': idToHex(cc.nodeId), 'added-peer-peer-urls': info.peerUrls });
      }
    } else if (cc.type === ConfChangeType.RemoveNode) {
      this.byId.delete(cc.nodeId);
      this.removedIds.add(cc.nodeId);
      b?.deleteAux(Buckets.members, key);
      b?.putAux(Buckets.membersRemoved, key, Buffer.from('removed'));
      this.log.info('removed member', { 'cluster-id': cid, 'removed-remote-peer-id': idToHex(cc.nodeId) });
    }
  }

  /** An applied member-attributes request (a member publishing its name and client URLs). */
  setAttributes(id: bigint, attrs: tsetcdpb.Attributes | undefined): MemberInfo | undefined {
    const m = this.byId.get(id);
    if (m === undefined) return undefined;
    m.name = attrs?.name ?? '';
    m.clientUrls = attrs?.clientUrls ?? [];
    this.persist(m);
    return m;
  }

  /** An applied cluster version (etcd's SetVersion). */
  setVersion(ver: string): void {
    const prev = this.ver;
    this.ver = ver;
    this.backend?.putAux(Buckets.cluster, clusterVersionKey, Buffer.from(ver));
    if (prev === undefined) {
      this.log.info('set initial cluster version', { 'cluster-id': idToHex(this.clusterId), 'local-member-id': idToHex(this.localId), 'cluster-version': majorMinor(ver) });
    }
    this.log.info('enabled capabilities for version', { 'cluster-version': majorMinor(ver) });
  }
}
