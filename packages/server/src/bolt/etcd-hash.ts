// Maintenance.Hash as etcd 3.4 computes it: CRC-32C over every bucket of its bbolt file, in
// bbolt's order (bucket names, then keys, byte-wise), each bucket's name followed by its keys and
// values, leaving out the entries etcd's mvcc.DefaultIgnores lists. Computed over etcd's layout
// of our data, so a member whose data equals an etcd member's reports the same hash.

import type { Backend } from '../backend/backend.js';
import { crc32c } from '@tsetcd/common';
import { etcdBucketsOf } from './etcd-layout.js';

/** bucket -> keys left out of the hash (etcd's DefaultIgnores: the stored consistent index) */
const defaultIgnores: ReadonlyMap<string, ReadonlySet<string>> = new Map([['meta', new Set(['consistent_index'])]]);

export function etcdBackendHash(backend: Backend): number {
  const buckets = etcdBucketsOf(backend).sort((a, b) => Buffer.compare(a.name, b.name));
  let h = 0;
  for (const b of buckets) {
    h = crc32c(b.name, h);
    const ignored = defaultIgnores.get(b.name.toString('latin1'));
    for (const [k, v] of b.entries) {
      if (ignored?.has(k.toString('latin1'))) continue;
      h = crc32c(k, h);
      h = crc32c(v, h);
    }
  }
  return h >>> 0;
}
