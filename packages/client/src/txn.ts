// Transactions: compare helpers, operations, and the if/then/else builder.
import { etcdserverpb } from '@tsetcd/proto';
import { rangeEndFor, toBuffer, toInt64, type Bytes } from './bytes.js';
import { InvalidArgumentError } from './errors.js';
import {
  deleteRequest,
  deleteResult,
  getResult,
  header,
  putRequest,
  putResult,
  rangeRequest,
  type DeleteOptions,
  type DeleteResult,
  type GetResult,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type ResponseHeader,
} from './kv.js';
import type { RawClient } from './raw.js';
import type { CallOptions } from './transport.js';

export type CompareOp = '=' | '==' | '!=' | '>' | '<';
export type Compare = etcdserverpb.Compare;
export type Op = etcdserverpb.RequestOp;

const results: Record<CompareOp, etcdserverpb.Compare_CompareResult> = {
  '=': etcdserverpb.Compare_CompareResult.EQUAL,
  '==': etcdserverpb.Compare_CompareResult.EQUAL,
  '!=': etcdserverpb.Compare_CompareResult.NOT_EQUAL,
  '>': etcdserverpb.Compare_CompareResult.GREATER,
  '<': etcdserverpb.Compare_CompareResult.LESS,
};

interface CompareRange {
  prefix?: boolean;
  rangeEnd?: Bytes;
  fromKey?: boolean;
}

function cmp(
  key: Bytes,
  op: CompareOp,
  target: etcdserverpb.Compare_CompareTarget,
  targetUnion: etcdserverpb.Compare['targetUnion'],
  range: CompareRange | undefined,
): Compare {
  const result = results[op];
  if (result === undefined) throw new InvalidArgumentError(`unknown comparison ${String(op)}`);
  return {
    result,
    target,
    key: toBuffer(key),
    targetUnion,
    rangeEnd: rangeEndFor(key, range ?? {}),
  };
}

const T = etcdserverpb.Compare_CompareTarget;

/** Compare helpers, as clientv3's Compare(Version(k), "=", 1) and friends. */
export const compare = {
  version: (key: Bytes, op: CompareOp, v: bigint | number, range?: CompareRange): Compare =>
    cmp(key, op, T.VERSION, { $case: 'version', value: toInt64(v, 'version') }, range),
  createRevision: (key: Bytes, op: CompareOp, v: bigint | number, range?: CompareRange): Compare =>
    cmp(key, op, T.CREATE, { $case: 'createRevision', value: toInt64(v, 'createRevision') }, range),
  modRevision: (key: Bytes, op: CompareOp, v: bigint | number, range?: CompareRange): Compare =>
    cmp(key, op, T.MOD, { $case: 'modRevision', value: toInt64(v, 'modRevision') }, range),
  value: (key: Bytes, op: CompareOp, v: Bytes, range?: CompareRange): Compare =>
    cmp(key, op, T.VALUE, { $case: 'value', value: toBuffer(v) }, range),
  lease: (key: Bytes, op: CompareOp, v: bigint | number, range?: CompareRange): Compare =>
    cmp(key, op, T.LEASE, { $case: 'lease', value: toInt64(v, 'lease') }, range),
};

/** Operations usable in then()/else(). */
export const op = {
  get: (key: Bytes, opts?: RangeOptions): Op => ({ request: { $case: 'requestRange', value: rangeRequest(key, opts) } }),
  put: (key: Bytes, value: Bytes, opts?: PutOptions): Op => ({ request: { $case: 'requestPut', value: putRequest(key, value, opts) } }),
  delete: (key: Bytes, opts?: DeleteOptions): Op => ({ request: { $case: 'requestDeleteRange', value: deleteRequest(key, opts) } }),
  txn: (compares: Compare[], success: Op[], failure: Op[] = []): Op => ({
    request: { $case: 'requestTxn', value: { compare: compares, success, failure } },
  }),
};

export type TxnOpResult =
  | ({ type: 'get' } & GetResult)
  | ({ type: 'put' } & PutResult)
  | ({ type: 'delete' } & DeleteResult)
  | ({ type: 'txn' } & TxnResult);

export interface TxnResult {
  header: ResponseHeader;
  revision: bigint;
  succeeded: boolean;
  /** One entry per operation of the branch that ran. */
  results: TxnOpResult[];
  /** The raw responses, as etcd sent them. */
  responses: etcdserverpb.ResponseOp[];
}

export function txnResult(r: etcdserverpb.TxnResponse): TxnResult {
  const h = header(r.header);
  const results = r.responses.map((ro): TxnOpResult => {
    const x = ro.response;
    switch (x?.$case) {
      case 'responseRange':
        return { type: 'get', ...getResult(x.value) };
      case 'responsePut':
        return { type: 'put', ...putResult(x.value) };
      case 'responseDeleteRange':
        return { type: 'delete', ...deleteResult(x.value) };
      case 'responseTxn':
        return { type: 'txn', ...txnResult(x.value) };
      default:
        throw new InvalidArgumentError('empty response in txn');
    }
  });
  return { header: h, revision: h.revision, succeeded: r.succeeded, results, responses: r.responses };
}

/** client.txn().if(...).then(...).else(...).commit(). Each clause may be given once, in order. */
export class Txn {
  private readonly compares: Compare[] = [];
  private readonly success: Op[] = [];
  private readonly failure: Op[] = [];
  private stage: 0 | 1 | 2 | 3 = 0;

  constructor(
    private readonly raw: RawClient,
    private readonly callOptions?: CallOptions,
  ) {}

  if(...compares: Compare[]): this {
    if (this.stage >= 1) throw new InvalidArgumentError('cannot call if() after if(), then() or else()');
    this.stage = 1;
    this.compares.push(...compares);
    return this;
  }

  then(...ops: Op[]): this {
    if (this.stage >= 2) throw new InvalidArgumentError('cannot call then() after then() or else()');
    this.stage = 2;
    this.success.push(...ops);
    return this;
  }

  else(...ops: Op[]): this {
    if (this.stage >= 3) throw new InvalidArgumentError('cannot call else() twice');
    this.stage = 3;
    this.failure.push(...ops);
    return this;
  }

  /** The request this builder would send. */
  request(): etcdserverpb.TxnRequest {
    return { compare: this.compares, success: this.success, failure: this.failure };
  }

  async commit(opts?: CallOptions): Promise<TxnResult> {
    return txnResult(await this.raw.kv.txn(this.request(), opts ?? this.callOptions));
  }
}
