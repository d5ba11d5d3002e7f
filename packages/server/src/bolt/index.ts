export { writeBolt, BoltStreamWriter, BoltWriteError, type BoltBucket } from './bolt-writer.js';
export { BoltReader, BoltReadError, fnv64a, boltPageSizeBytes, looksLikeBolt, type BoltMeta } from '@tsetcd/common';
export { visitEtcdLayout, toEtcd, importEtcdBuckets, etcdMemberJsonOf, etcdBucketNames, EtcdLayoutError } from './etcd-layout.js';
export { createEtcdSnapshot, type EtcdSnapshotFile } from './etcd-snapshot.js';
