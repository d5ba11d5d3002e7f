// Applying a committed v2 request to the store (etcd's applierV2store and applyV2Request):
// POST creates an in-order key, PUT sets / creates / updates / compare-and-swaps as prevExist,
// prevIndex and prevValue say, DELETE deletes or compare-and-deletes, QGET reads at its place in
// the log, SYNC expires keys whose TTL ran out at the leader's clock.

import type { tsetcdpb } from '@tsetcd/proto';
import type { V2Event } from './event.js';
import type { TtlOptions, V2Store } from './store.js';

export type V2Request = tsetcdpb.Request;

export function ttlOptions(r: V2Request): TtlOptions {
  return { expireTime: r.Expiration !== 0n ? r.Expiration : 0n, refresh: r.Refresh === true };
}

/** The event a request produced (undefined for SYNC); a V2Error is thrown for a refused one. */
export function applyV2Request(store: V2Store, r: V2Request): V2Event | undefined {
  switch (r.Method) {
    case 'POST':
      return store.create(r.Path, r.Dir, r.Val, true, ttlOptions(r));
    case 'PUT':
      return applyPut(store, r);
    case 'DELETE':
      if (r.PrevIndex > 0n || r.PrevValue !== '') return store.compareAndDelete(r.Path, r.PrevValue, r.PrevIndex);
      return store.delete(r.Path, r.Dir, r.Recursive);
    case 'QGET':
      return store.get(r.Path, r.Recursive, r.Sorted);
    case 'SYNC':
      store.deleteExpiredKeys(r.Time);
      return undefined;
    default:
      throw new UnknownMethodError();
  }
}

/** etcd's ErrUnknownMethod */
export class UnknownMethodError extends Error {
  constructor() {
    super('etcdserver: unknown method');
  }
}

function applyPut(store: V2Store, r: V2Request): V2Event {
  const o = ttlOptions(r);
  if (r.PrevExist !== undefined) {
    if (r.PrevExist) {
      if (r.PrevIndex === 0n && r.PrevValue === '') return store.update(r.Path, r.Val, o);
      return store.compareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, o);
    }
    return store.create(r.Path, r.Dir, r.Val, false, o);
  }
  if (r.PrevIndex > 0n || r.PrevValue !== '') return store.compareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, o);
  return store.set(r.Path, r.Dir, r.Val, o);
}
