// Starting a brand-new cluster. Like etcd, every initial member writes the same N ConfChange
// AddNode entries at indexes 1..N, term 1, already committed. The membership is rebuilt from them
// when they are applied (they arrive in the first Ready's committedEntries; call
// applyConfChange for each). A restarted node must NOT be bootstrapped again: it just uses storage.
import type { ConfChange, Entry, NodeId } from './types.js';
import { ConfChangeType, EntryType } from './types.js';
import type { MemoryStorage } from './storage.js';
import { encodeConfChange } from './codec.js';
import { ErrInvalidConfig } from './errors.js';

export interface Peer {
  id: NodeId;
  /** opaque member attributes, copied into the ConfChange context */
  context?: Uint8Array;
}

/** The ConfChange entries a new cluster starts with (index 1..N, term 1). */
export function bootstrapEntries(peers: (NodeId | Peer)[]): Entry[] {
  if (peers.length === 0) throw new ErrInvalidConfig('must provide at least one peer to bootstrap');
  return peers.map((p, i) => {
    const peer: Peer = typeof p === 'bigint' ? { id: p } : p;
    const cc: ConfChange = { type: ConfChangeType.AddNode, nodeId: peer.id, context: peer.context ?? new Uint8Array(0) };
    return { term: 1, index: i + 1, type: EntryType.ConfChange, data: encodeConfChange(cc) };
  });
}

/**
 * Writes the initial state of a new cluster member into empty storage: the bootstrap entries and
 * hard state {term 1, commit N}. The node learns its peers when the application applies those
 * entries (first Ready's committedEntries -> applyConfChange); only then can it campaign.
 */
export function bootstrap(storage: Pick<MemoryStorage, 'append' | 'setHardState' | 'lastIndex'>, peers: (NodeId | Peer)[]): void {
  if (storage.lastIndex() !== 0) throw new ErrInvalidConfig('can only bootstrap an empty storage');
  const ents = bootstrapEntries(peers);
  storage.append(ents);
  storage.setHardState({ term: 1, vote: 0n, commit: ents.length });
}
