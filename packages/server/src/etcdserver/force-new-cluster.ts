// --force-new-cluster (etcd's restartAsStandaloneNode): a member restarts from its data dir as
// the only member of its cluster. Uncommitted log entries are dropped; ConfChange entries that
// remove every other member (and add this one if its log never did) are appended and committed.

import { ConfChangeType, EntryType, decodeConfChange, encodeConfChange, type ConfState, type Entry, type HardState } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';

export interface ForcedLog {
  /** the log to start from: committed entries, then the appended ones */
  entries: Entry[];
  /** the appended ConfChange entries (to be saved to the WAL) */
  appended: Entry[];
  hardState: HardState;
  /** members the appended entries remove */
  removed: bigint[];
}

/** Voters and learners known from the snapshot's ConfState and the ConfChanges in the log (etcd's getIDs). */
export function memberIdsInLog(confState: ConfState | undefined, entries: Entry[]): Set<bigint> {
  const ids = new Set<bigint>([...(confState?.voters ?? []), ...(confState?.learners ?? [])]);
  for (const e of entries) {
    if (e.type !== EntryType.ConfChange) continue;
    const cc = decodeConfChange(e.data);
    if (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode) ids.add(cc.nodeId);
    else if (cc.type === ConfChangeType.RemoveNode) ids.delete(cc.nodeId);
  }
  return ids;
}

export function forceNewClusterEntries(o: { memberId: bigint; confState?: ConfState; entries: Entry[]; hardState: HardState }): ForcedLog {
  const committed = o.entries.filter((e) => e.index <= o.hardState.commit);
  const ids = memberIdsInLog(o.confState, committed);
  const changes: Array<{ type: ConfChangeType; nodeId: bigint; context: Uint8Array }> = [];
  const removed = [...ids].filter((id) => id !== o.memberId).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of removed) changes.push({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
  if (!ids.has(o.memberId)) {
    // etcd adds itself with its default peer URL; the member's own attributes follow when it publishes
    const self = tsetcdpb.Member.encode({ ID: o.memberId, name: '', peerUrls: ['http://localhost:2380'], clientUrls: [], isLearner: false }).finish();
    changes.push({ type: ConfChangeType.AddNode, nodeId: o.memberId, context: self });
  }
  let index = o.hardState.commit;
  const appended: Entry[] = changes.map((cc) => ({ term: o.hardState.term, index: ++index, type: EntryType.ConfChange, data: encodeConfChange(cc) }));
  return {
    entries: [...committed, ...appended],
    appended,
    hardState: { ...o.hardState, commit: index },
    removed,
  };
}
