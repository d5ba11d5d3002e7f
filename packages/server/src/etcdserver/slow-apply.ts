// etcd's warnOfExpensiveRequest (--experimental-warning-apply-duration): an applied request that
// took longer than the limit is logged as "apply request took too long" and counted
// (etcd_server_slow_apply_total).

import { formatGoDuration } from '@tsetcd/common';
import type { tsetcdpb } from '@tsetcd/proto';
import type { ServerLogger } from './config.js';

/** A short description of the request, in the spirit of etcd's InternalRaftStringer. */
export function describeRequest(r: tsetcdpb.InternalRaftRequest): string {
  const head = `header:<ID:${r.header?.ID ?? 0n} >`;
  if (r.put) return `${head} put:<key:${JSON.stringify(Buffer.from(r.put.key).toString('latin1'))} value_size:${r.put.value.length} >`;
  if (r.range) return `${head} range:<key:${JSON.stringify(Buffer.from(r.range.key).toString('latin1'))} >`;
  if (r.deleteRange) return `${head} delete_range:<key:${JSON.stringify(Buffer.from(r.deleteRange.key).toString('latin1'))} >`;
  if (r.txn) return `${head} txn:<compare_size:${r.txn.compare.length} success_size:${r.txn.success.length} failure_size:${r.txn.failure.length} >`;
  for (const [k, v] of Object.entries(r)) if (k !== 'header' && k !== 'ID' && v !== undefined && v !== null) return `${head} ${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}:<>`;
  return head;
}

/** Logs and reports whether an apply that started at `t0` (performance.now ms) was slow. */
export function warnIfSlowApply(log: ServerLogger, limitMs: number, t0: number, r: tsetcdpb.InternalRaftRequest, err: Error | undefined): boolean {
  const took = performance.now() - t0;
  if (!(took > limitMs)) return false;
  const ns = (ms: number): bigint => BigInt(Math.round(ms * 1e6));
  log.warn('apply request took too long', { took: formatGoDuration(ns(took)), 'expected-duration': formatGoDuration(ns(limitMs)), prefix: '', request: describeRequest(r), response: '', error: err?.message });
  return true;
}
