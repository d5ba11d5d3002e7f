// The member's v2 store on the apply path (etcd's applyV2Request, the membership writes of its
// RaftCluster into "/0", the v2 store in raft snapshots, and the leader's SYNC ticker for TTL
// expiry). Every member applies the same entries in log order, so every member's v2 store is
// the same at the same index.
//
// On a restart the v3 backend skips entries up to its consistent index, but the v2 store lives
// in memory: it is recovered from the raft snapshot and every entry after the snapshot is
// replayed into it (replay()), as etcd does.

import { ConfChangeType, type ConfChange } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import type { ApplyResult } from '../apply/applier.js';
import type { ServerLogger } from './config.js';
import { V2Store } from '../v2store/store.js';
import { V2Error } from '../v2store/errors.js';
import { applyV2Request, type V2Request } from '../v2store/apply.js';
import { clusterPrefix, deleteMember, keysPrefix, saveClusterVersion, saveMember, saveMemberAttributes, updateMember } from '../v2store/cluster-keys.js';
import { recoverStore, saveStore } from '../v2store/snapshot-json.js';
import type { V2Event } from '../v2store/event.js';

/** etcd's SyncTicker: how often the leader proposes a SYNC while keys have TTLs */
const syncIntervalMs = 500;

/** What a v2 request's apply gives its proposer. */
export interface V2ApplyResponse {
  event?: V2Event;
}

/** How a member looks up a member's peer URLs and learner flag after a ConfChange. */
export interface ConfChangeMember {
  peerUrls: string[];
  isLearner: boolean;
}

/** InternalRaftRequest fields that change the v2 store: v2, cluster_version_set, cluster_member_attr_set */
const v2Fields = new Set([2, 1300, 1301]);

/**
 * Whether an encoded InternalRaftRequest has a field that changes the v2 store: a walk over its
 * top-level tags only, so replaying a long WAL tail of v3 entries after a restart decodes none.
 * A malformed entry answers true (the full decode then reports it).
 */
export function touchesV2Store(data: Uint8Array): boolean {
  let o = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (o >= data.length) throw new RangeError('truncated');
      const b = data[o++];
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    throw new RangeError('varint too long');
  };
  try {
    while (o < data.length) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      if (v2Fields.has(field)) return true;
      switch (tag & 7) {
        case 0:
          varint();
          break;
        case 1:
          o += 8;
          break;
        case 2: {
          // (not `o += varint()`: that adds to o as it was before the length was read)
          const n = varint();
          o += n;
          break;
        }
        case 5:
          o += 4;
          break;
        default:
          return true;
      }
    }
    return o !== data.length;
  } catch {
    return true;
  }
}

export class V2Apply {
  /** the v2 store (namespaces "/0" membership, "/1" keys; "/2" is made by v2 auth) */
  readonly store = new V2Store([clusterPrefix, keysPrefix]);
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly log: ServerLogger) {}

  /** A committed v2 request. */
  apply(r: V2Request): ApplyResult {
    try {
      return { resp: { event: applyV2Request(this.store, r) } satisfies V2ApplyResponse };
    } catch (e) {
      if (e instanceof V2Error) return { err: e };
      if (e instanceof Error && e.message === 'etcdserver: unknown method') return { err: e };
      throw e;
    }
  }

  /**
   * An entry the v3 backend had applied before the restart (at or below its consistent index):
   * only its v2 effects are applied again.
   */
  replay(req: tsetcdpb.InternalRaftRequest): void {
    if (req.v2 !== undefined) this.apply(req.v2);
    else if (req.clusterMemberAttrSet !== undefined) this.memberAttributes(req.clusterMemberAttrSet);
    else if (req.clusterVersionSet !== undefined) this.clusterVersion(req.clusterVersionSet.ver);
  }

  /** A ConfChange; `member` is the member it added or changed as the cluster now has it. */
  confChange(cc: ConfChange, member: ConfChangeMember | undefined): void {
    this.must('conf change', () => {
      const fromContext = cc.context.length > 0 ? tsetcdpb.Member.decode(cc.context) : undefined;
      const peerUrls = fromContext?.peerUrls ?? member?.peerUrls ?? [];
      switch (cc.type) {
        case ConfChangeType.AddNode:
        case ConfChangeType.AddLearnerNode: {
          const path = `${clusterPrefix}/members/${cc.nodeId.toString(16)}/raftAttributes`;
          let exists = true;
          try {
            this.store.internalGet(path);
          } catch {
            exists = false;
          }
          // a learner's promotion rewrites its attributes; otherwise the member is new
          if (exists) updateMember(this.store, cc.nodeId, peerUrls, cc.type === ConfChangeType.AddLearnerNode);
          else saveMember(this.store, cc.nodeId, peerUrls, cc.type === ConfChangeType.AddLearnerNode);
          break;
        }
        case ConfChangeType.UpdateNode:
          if (cc.nodeId !== 0n) updateMember(this.store, cc.nodeId, peerUrls, member?.isLearner ?? false);
          break;
        case ConfChangeType.RemoveNode:
          deleteMember(this.store, cc.nodeId);
          break;
      }
    });
  }

  memberAttributes(r: tsetcdpb.ClusterMemberAttrSetRequest): void {
    this.must('member attributes', () => saveMemberAttributes(this.store, r.memberID, r.memberAttributes?.name ?? '', r.memberAttributes?.clientUrls ?? []));
  }

  clusterVersion(ver: string): void {
    this.must('cluster version', () => saveClusterVersion(this.store, ver));
  }

  /** etcd panics when a membership write fails; the v3 membership is authoritative here, so log it */
  private must(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.warn('v2 store: membership write failed', { what, error: (e as Error).message });
    }
  }

  /** The store for a raft snapshot. */
  snapshotData(): Uint8Array {
    return saveStore(this.store);
  }

  /** The store from a raft snapshot (one this member saved, or the leader sent). */
  recover(data: Uint8Array): void {
    try {
      recoverStore(this.store, data);
    } catch (e) {
      this.log.warn('v2 store: snapshot data unreadable; starting from an empty v2 store', { error: (e as Error).message });
      this.store.reset();
    }
  }

  /** Starts the leader's SYNC ticker (`propose` is called only while `isLeader()`). */
  startSync(isLeader: () => boolean, propose: (r: Partial<V2Request>) => void): void {
    this.syncTimer = setInterval(() => {
      if (isLeader() && this.store.hasTtlKeys()) propose({ Method: 'SYNC', Time: BigInt(Date.now()) * 1_000_000n });
    }, syncIntervalMs);
    this.syncTimer.unref();
  }

  stopSync(): void {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
  }
}
