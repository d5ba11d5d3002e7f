// KV service: Range, Put, DeleteRange, Txn, Compact (etcd's v3rpc/key.go + v3_server.go).

import { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxn } from '../apply/validate.js';
import type { ApplyResult } from '../apply/applier.js';
import { checkQuota, checkQuotaCost } from './quota.js';
import { costPut } from '../apply/quota-cost.js';

type Header = etcdserverpb.ResponseHeader;

function isTxnReadOnly(r: etcdserverpb.TxnRequest): boolean {
  const ro = (ops: etcdserverpb.RequestOp[]): boolean =>
    ops.every((op) => {
      const q = op.request;
      if (q === undefined || q.$case === 'requestRange') return true;
      return q.$case === 'requestTxn' && isTxnReadOnly(q.value);
    });
  return ro(r.success) && ro(r.failure);
}

function isTxnSerializable(r: etcdserverpb.TxnRequest): boolean {
  const ser = (ops: etcdserverpb.RequestOp[]): boolean =>
    ops.every((op) => {
      const q = op.request;
      if (q?.$case === 'requestRange') return q.value.serializable;
      if (q?.$case === 'requestTxn') return isTxnSerializable(q.value);
      return true;
    });
  return ser(r.success) && ser(r.failure);
}

export class KvApi {
  constructor(private readonly s: ServerView) {}

  private fill<T extends { header: Header | undefined }>(resp: T): T {
    resp.header = this.s.header(resp.header?.revision);
    return resp;
  }

  async range(r: etcdserverpb.RangeRequest): Promise<etcdserverpb.RangeResponse> {
    checkRangeRequest(r);
    if (!r.serializable) await this.s.linearizableReadNotify();
    return this.fill(this.s.range(r));
  }

  /** The put's response (not an async function: one promise chain per put, the busiest request). */
  put(r: etcdserverpb.PutRequest): Promise<etcdserverpb.PutResponse> {
    try {
      checkPutRequest(r);
      const refused = checkQuotaCost(this.s, costPut(r));
      if (refused !== undefined) return refused.then(() => this.s.proposePut(r));
    } catch (e) {
      return Promise.reject(e);
    }
    // answered with its header filled (as fill() does) by the server
    return this.s.proposePut(r);
  }

  async deleteRange(r: etcdserverpb.DeleteRangeRequest): Promise<etcdserverpb.DeleteRangeResponse> {
    checkDeleteRequest(r);
    return this.fill((await this.s.propose({ deleteRange: r })) as etcdserverpb.DeleteRangeResponse);
  }

  async txn(r: etcdserverpb.TxnRequest): Promise<etcdserverpb.TxnResponse> {
    checkTxn(r, this.s.cfg.maxTxnOps);
    if (isTxnReadOnly(r)) {
      if (!isTxnSerializable(r)) await this.s.linearizableReadNotify();
      return this.fill(this.s.readTxn(r));
    }
    const refused = checkQuota(this.s, { txn: r });
    if (refused !== undefined) await refused;
    return this.fill((await this.s.propose({ txn: r })) as etcdserverpb.TxnResponse);
  }

  async compact(r: etcdserverpb.CompactionRequest): Promise<etcdserverpb.CompactionResponse> {
    const res: ApplyResult = await this.s.proposeFull({ compaction: r });
    if (r.physical && res.physical) await res.physical;
    return this.fill(res.resp as etcdserverpb.CompactionResponse);
  }
}
