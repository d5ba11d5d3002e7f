// @tsetcd/client: an etcd v3 client. See README.md for usage.
export { Client } from './client.js';
export * from './errors.js';
export type { ClientOptions, TlsOptions } from './options.js';
export { makeRaw, type RawClient, type DeepPartial, type RawUnary } from './raw.js';
export type { CallOptions } from './transport.js';
export { prefixEnd, toBuffer, type Bytes } from './bytes.js';
export {
  KV,
  type KeyValue,
  type ResponseHeader,
  type RangeOptions,
  type PutOptions,
  type DeleteOptions,
  type GetResult,
  type PutResult,
  type DeleteResult,
  type SortOrder,
  type SortTarget,
} from './kv.js';
export { Txn, compare, op, type Compare, type CompareOp, type Op, type TxnResult, type TxnOpResult } from './txn.js';
export { Watcher, type WatchOptions, type WatchEvent, type WatchBatch } from './watch.js';
export { Lease, KeepAlive, type LeaseGrantResult, type LeaseTimeToLiveResult, type KeepAliveResponse } from './lease.js';
export { Cluster, type Member, type MembersResult } from './cluster.js';
export { Maintenance, type AlarmKind, type AlarmMember } from './maintenance.js';
export { Auth, type Permission, type PermissionType } from './auth.js';
export * from './concurrency/index.js';
