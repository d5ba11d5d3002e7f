// etcdctl's `snapshot status` of a bbolt file: crc32c over bucket names and key/values, the key
// count, the last revision of the key bucket and tx.Size(). The file is read with
// @tsetcd/common's bbolt reader.

import { readFileSync } from 'node:fs';
import { BoltReader, crc32c } from '@tsetcd/common';

export class BoltError extends Error {
  readonly code = 'BOLT_INVALID';
}

export interface BoltStatus {
  hash: number;
  revision: bigint;
  totalKey: number;
  totalSize: bigint;
}

/** bbolt's smallest file it opens: two page headers and a meta. */
const minBoltFileBytes = 2 * 16 + 64;

/** etcd's snapshot status: crc32c over bucket names and key/values, key count, last revision. */
export function readBoltStatus(path: string): BoltStatus {
  const buf = readFileSync(path);
  if (buf.length < minBoltFileBytes) throw new BoltError('file size too small');
  const file = new BoltReader(buf);
  let hash = 0;
  let revision = 0n;
  let totalKey = 0;
  for (const b of file.rootEntries()) {
    if (!b.isBucket) throw new BoltError(`cannot get hash of bucket ${b.key.toString('latin1')}`);
    hash = crc32c(b.key, hash);
    const isKeyBucket = b.key.toString('latin1') === 'key';
    for (const kv of file.bucketEntries(b.value)) {
      hash = crc32c(kv.value, crc32c(kv.key, hash));
      if (isKeyBucket) revision = kv.key.readBigInt64BE(0);
      totalKey++;
    }
  }
  return { hash, revision, totalKey, totalSize: file.size };
}
