export { writeBolt, fnv64a, BoltWriteError, boltPageSizeBytes, type BoltBucket } from './bolt-writer.js';
export { BoltReader, BoltReadError, looksLikeBolt, type BoltMeta } from './bolt-reader.js';
export { etcdBucketsOf, importEtcdBuckets, etcdMemberJson, etcdBucketNames, EtcdLayoutError } from './etcd-layout.js';
