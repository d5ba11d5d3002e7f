// Maintenance.Hash as etcd 3.4 computes it: CRC-32C over every bucket of its bbolt file, in
// bbolt's order (bucket names, then keys, byte-wise), each bucket's name followed by its keys and
// values, leaving out the entries etcd's mvcc.DefaultIgnores lists. Computed over etcd's layout
// of our data, so a member whose data equals an etcd member's reports the same hash.

import type { Backend } from '../backend/backend.js';
import { crc32c } from '@tsetcd/common';
import { visitEtcdLayout } from './etcd-layout.js';

/** bucket -> keys left out of the hash (etcd's DefaultIgnores: the stored consistent index) */
const defaultIgnores: ReadonlyMap<string, ReadonlySet<string>> = new Map([['meta', new Set(['consistent_index'])]]);

/** Computed over a read view (everything committed first), in slices of the event loop. */
export async function etcdBackendHash(backend: Backend): Promise<number> {
  const view = await backend.openReadView();
  try {
    let h = 0;
    let ignored: ReadonlySet<string> | undefined;
    await visitEtcdLayout(view, {
      beginBucket: (name) => {
        h = crc32c(name, h);
        ignored = defaultIgnores.get(name.toString('latin1'));
      },
      entry: (k, v) => {
        if (ignored?.has(k.toString('latin1'))) return;
        h = crc32c(k, h);
        h = crc32c(v, h);
      },
      endBucket: () => undefined,
    });
    return h >>> 0;
  } finally {
    view.close();
  }
}
