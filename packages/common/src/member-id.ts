// Member and cluster IDs derived as etcd's membership package does, so they are stable across
// restarts and equal to what etcd (and etcdctl snapshot restore) computes for the same flags:
//   member ID  = first 8 bytes (big endian) of sha1(sorted peer URLs joined + cluster token)
//   cluster ID = first 8 bytes of sha1(the sorted member IDs as 8-byte big-endian values)
import { createHash } from 'node:crypto';

export function computeMemberId(peerUrls: readonly string[], clusterToken: string): bigint {
  const sorted = [...peerUrls].sort();
  return createHash('sha1').update(sorted.join('') + clusterToken).digest().readBigUInt64BE(0);
}

export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => b.writeBigUInt64BE(id, i * 8));
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

/** An ID as etcd prints it (types.ID.String: lower-case hex, no padding). */
export function idToHex(id: bigint): string {
  return id.toString(16);
}
