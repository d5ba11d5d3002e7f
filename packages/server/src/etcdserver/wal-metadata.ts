// The WAL's metadata record: etcd's etcdserverpb.Metadata {NodeID 1, ClusterID 2} (varints), so
// etcd's tools (`etcdctl backup`, `etcdctl migrate`) read a tsetcd log and tsetcd starts from a log
// they wrote.

import { decodePbFields, pbUint, pbVarintField, ProtobufWireError } from '@tsetcd/common';

export function encodeWalMetadata(memberId: bigint, clusterId: bigint): Buffer {
  return Buffer.from([...pbVarintField(1, memberId), ...pbVarintField(2, clusterId)]);
}

export function decodeWalMetadata(b: Buffer): { memberId: bigint; clusterId: bigint } {
  try {
    const f = decodePbFields(b);
    const memberId = pbUint(f, 1);
    if (memberId === 0n) throw new Error('etcdserver: WAL metadata has no member ID');
    return { memberId, clusterId: pbUint(f, 2) };
  } catch (e) {
    if (e instanceof ProtobufWireError) throw new Error(`etcdserver: WAL metadata: ${e.message}`);
    throw e;
  }
}
