// The few etcd operations service discovery needs, behind one interface: ClientRegistry
// (over @tsetcd/client) is the implementation; tests and embedders may pass their own.

import { prefixEnd as keyPrefixEnd } from '@tsetcd/common';

export interface RegistryKeyValue {
  key: string;
  value: string;
  modRevision: bigint;
  lease: bigint;
}

export interface RegistryEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: bigint;
}

/** One watch response: events plus the store revision they bring us to. */
export interface RegistryWatchBatch {
  revision: bigint;
  events: RegistryEvent[];
}

/**
 * An async iterable of watch batches. It throws WatchCompactedError when the start
 * revision is gone and RegistryError when the stream breaks; stop() ends it cleanly.
 */
export interface RegistryWatch extends AsyncIterable<RegistryWatchBatch> {
  stop(): void;
}

export interface LeaseKeeper {
  stop(): void;
}

export interface Registry {
  /** Grants a lease of ttlSec seconds; returns its 64-bit id. */
  grant(ttlSec: number): Promise<bigint>;
  /**
   * Keeps the lease alive until stop(). onLost is called once if the lease expires or
   * cannot be renewed for longer than its TTL.
   */
  keepAlive(lease: bigint, ttlSec: number, onLost: (reason: string) => void): LeaseKeeper;
  revoke(lease: bigint): Promise<void>;
  /** Puts key=value (attached to lease when given, 0n = none); returns the new revision. */
  put(key: string, value: string, lease?: bigint): Promise<bigint>;
  /** Reads [key, rangeEnd) (rangeEnd omitted → the single key). */
  range(key: string, rangeEnd?: string): Promise<{ kvs: RegistryKeyValue[]; revision: bigint }>;
  delete(key: string, rangeEnd?: string): Promise<void>;
  /** Watches [key, rangeEnd) from startRevision (0n = now). */
  watch(key: string, rangeEnd: string | undefined, startRevision: bigint): RegistryWatch;
  close(): void;
}

/** The etcd range end that makes [prefix, end) cover every key starting with prefix (ASCII keys). */
export function prefixEnd(prefix: string): string {
  if (!/^[\x00-\x7e]*$/.test(prefix)) throw new RangeError('prefixEnd: registry keys must be ASCII');
  return keyPrefixEnd(prefix).toString('latin1');
}
