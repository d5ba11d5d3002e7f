export { writeBolt, BoltWriteError, type BoltBucket } from './bolt-writer.js';
export { BoltReader, BoltReadError, fnv64a, boltPageSizeBytes, looksLikeBolt, type BoltMeta } from '@tsetcd/common';
export { etcdBucketsOf, importEtcdBuckets, etcdMemberJsonOf, etcdBucketNames, EtcdLayoutError } from './etcd-layout.js';
