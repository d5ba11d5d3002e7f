// Key ranges as etcd's clientv3 builds them.

/** The smallest key above every key that starts with `prefix` (clientv3.GetPrefixRangeEnd); "\0" (to the end) when there is none. */
export function prefixEnd(prefix: string | Uint8Array): Buffer {
  const end = typeof prefix === 'string' ? Buffer.from(prefix, 'utf8') : Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i] += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.of(0);
}
