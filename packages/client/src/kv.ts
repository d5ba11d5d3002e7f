// KV: get / put / delete with etcd's options, compact, and the request builders shared with Txn.
import { etcdserverpb, type mvccpb } from '@tsetcd/proto';
import { rangeEndFor, toBuffer, toInt64, type Bytes } from './bytes.js';
import { InvalidArgumentError } from './errors.js';
import type { RawClient } from './raw.js';
import type { CallOptions } from './transport.js';

export type KeyValue = mvccpb.KeyValue;
export type ResponseHeader = etcdserverpb.ResponseHeader;

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

export interface RangeOptions {
  /** All keys starting with `key`. */
  prefix?: boolean;
  /** Keys in [key, rangeEnd). */
  rangeEnd?: Bytes;
  /** All keys >= key. */
  fromKey?: boolean;
  limit?: bigint | number;
  /** Read at this revision (0 / undefined = latest). */
  revision?: bigint | number;
  sort?: { target?: SortTarget; order?: SortOrder };
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: bigint | number;
  maxModRevision?: bigint | number;
  minCreateRevision?: bigint | number;
  maxCreateRevision?: bigint | number;
}

export interface PutOptions {
  lease?: bigint | number;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface DeleteOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  fromKey?: boolean;
  prevKv?: boolean;
}

export interface GetResult {
  header: ResponseHeader;
  /** Store revision at the time of the read. */
  revision: bigint;
  kvs: KeyValue[];
  more: boolean;
  count: bigint;
}
export interface PutResult {
  header: ResponseHeader;
  revision: bigint;
  prevKv: KeyValue | undefined;
}
export interface DeleteResult {
  header: ResponseHeader;
  revision: bigint;
  deleted: bigint;
  prevKvs: KeyValue[];
}

const sortTargets: Record<SortTarget, etcdserverpb.RangeRequest_SortTarget> = {
  key: etcdserverpb.RangeRequest_SortTarget.KEY,
  version: etcdserverpb.RangeRequest_SortTarget.VERSION,
  create: etcdserverpb.RangeRequest_SortTarget.CREATE,
  mod: etcdserverpb.RangeRequest_SortTarget.MOD,
  value: etcdserverpb.RangeRequest_SortTarget.VALUE,
};
const sortOrders: Record<SortOrder, etcdserverpb.RangeRequest_SortOrder> = {
  none: etcdserverpb.RangeRequest_SortOrder.NONE,
  ascend: etcdserverpb.RangeRequest_SortOrder.ASCEND,
  descend: etcdserverpb.RangeRequest_SortOrder.DESCEND,
};

export function header(h: ResponseHeader | undefined): ResponseHeader {
  return h ?? etcdserverpb.ResponseHeader.fromPartial({});
}

export function rangeRequest(key: Bytes, o: RangeOptions = {}): etcdserverpb.RangeRequest {
  const target = o.sort?.target ?? 'key';
  const order = o.sort?.order ?? (o.sort?.target !== undefined ? 'ascend' : 'none');
  if (!(target in sortTargets)) throw new InvalidArgumentError(`unknown sort target ${String(target)}`);
  if (!(order in sortOrders)) throw new InvalidArgumentError(`unknown sort order ${String(order)}`);
  return etcdserverpb.RangeRequest.fromPartial({
    key: toBuffer(key),
    rangeEnd: rangeEndFor(key, o),
    limit: toInt64(o.limit, 'limit'),
    revision: toInt64(o.revision, 'revision'),
    sortTarget: sortTargets[target],
    sortOrder: sortOrders[order],
    serializable: o.serializable === true,
    keysOnly: o.keysOnly === true,
    countOnly: o.countOnly === true,
    minModRevision: toInt64(o.minModRevision, 'minModRevision'),
    maxModRevision: toInt64(o.maxModRevision, 'maxModRevision'),
    minCreateRevision: toInt64(o.minCreateRevision, 'minCreateRevision'),
    maxCreateRevision: toInt64(o.maxCreateRevision, 'maxCreateRevision'),
  });
}

export function putRequest(key: Bytes, value: Bytes, o: PutOptions = {}): etcdserverpb.PutRequest {
  return etcdserverpb.PutRequest.fromPartial({
    key: toBuffer(key),
    value: toBuffer(value),
    lease: toInt64(o.lease, 'lease'),
    prevKv: o.prevKv === true,
    ignoreValue: o.ignoreValue === true,
    ignoreLease: o.ignoreLease === true,
  });
}

export function deleteRequest(key: Bytes, o: DeleteOptions = {}): etcdserverpb.DeleteRangeRequest {
  return etcdserverpb.DeleteRangeRequest.fromPartial({
    key: toBuffer(key),
    rangeEnd: rangeEndFor(key, o),
    prevKv: o.prevKv === true,
  });
}

export function getResult(r: etcdserverpb.RangeResponse): GetResult {
  const h = header(r.header);
  return { header: h, revision: h.revision, kvs: r.kvs, more: r.more, count: r.count };
}
export function putResult(r: etcdserverpb.PutResponse): PutResult {
  const h = header(r.header);
  return { header: h, revision: h.revision, prevKv: r.prevKv };
}
export function deleteResult(r: etcdserverpb.DeleteRangeResponse): DeleteResult {
  const h = header(r.header);
  return { header: h, revision: h.revision, deleted: r.deleted, prevKvs: r.prevKvs };
}

export class KV {
  constructor(private readonly raw: RawClient) {}

  async get(key: Bytes, opts?: RangeOptions & CallOptions): Promise<GetResult> {
    return getResult(await this.raw.kv.range(rangeRequest(key, opts), opts));
  }

  async put(key: Bytes, value: Bytes, opts?: PutOptions & CallOptions): Promise<PutResult> {
    return putResult(await this.raw.kv.put(putRequest(key, value, opts), opts));
  }

  async delete(key: Bytes, opts?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    return deleteResult(await this.raw.kv.deleteRange(deleteRequest(key, opts), opts));
  }

  /** Compacts the history up to `revision`; `physical` waits until the space is reclaimed. */
  async compact(revision: bigint | number, opts?: { physical?: boolean } & CallOptions): Promise<{ header: ResponseHeader }> {
    const r = await this.raw.kv.compact({ revision: toInt64(revision, 'revision'), physical: opts?.physical === true }, opts);
    return { header: header(r.header) };
  }
}
