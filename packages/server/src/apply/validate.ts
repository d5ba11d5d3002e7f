// Checks done on a request before it is proposed (etcd's v3rpc checkPutRequest, checkTxnRequest,
// checkIntervals...): bad input is answered with etcd's exact error and never reaches raft.

import type { etcdserverpb } from '@tsetcd/proto';
import { Errors } from '../errors.js';

type RangeRequest = etcdserverpb.RangeRequest;
type PutRequest = etcdserverpb.PutRequest;
type DeleteRangeRequest = etcdserverpb.DeleteRangeRequest;
type TxnRequest = etcdserverpb.TxnRequest;
type RequestOp = etcdserverpb.RequestOp;

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw Errors.emptyKey();
}

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw Errors.emptyKey();
  if (r.ignoreValue && r.value.length !== 0) throw Errors.valueProvided();
  if (r.ignoreLease && r.lease !== 0n) throw Errors.leaseProvided();
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw Errors.emptyKey();
}

/** etcd's checkTxnRequest: ops per level bounded by maxTxnOps, budget shrinking with depth. */
export function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw Errors.tooManyOps();
  for (const c of r.compare) if (c.key.length === 0) throw Errors.emptyKey();
  for (const op of r.success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkRequestOp(op, maxTxnOps - opc);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  const q = op.request;
  // an empty op (etcd: "empty op / nil entry")
  if (q === undefined) throw Errors.keyNotFound();
  switch (q.$case) {
    case 'requestRange':
      return checkRangeRequest(q.value);
    case 'requestPut':
      return checkPutRequest(q.value);
    case 'requestDeleteRange':
      return checkDeleteRequest(q.value);
    case 'requestTxn':
      return checkTxnRequest(q.value, maxTxnOps);
  }
}

/** A deleted interval [start, end); end undefined: the single key start; end '' : to the end of the key space. */
interface Interval {
  start: string;
  end: string | undefined;
}

function covers(iv: Interval, k: string): boolean {
  if (iv.end === undefined) return k === iv.start;
  return k >= iv.start && (iv.end === '' || k < iv.end);
}

function anyCovers(dels: Interval[], k: string): boolean {
  for (const iv of dels) if (covers(iv, k)) return true;
  return false;
}

/**
 * etcd's checkIntervals: within one branch a key may be written once, and never both written and
 * inside a deleted range; the then/else branches of a nested txn are exclusive so may overlap.
 */
export function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.request?.$case !== 'requestDeleteRange') continue;
    const d = op.request.value;
    const key = d.key.toString('latin1');
    if (d.rangeEnd.length === 0) dels.push({ start: key, end: undefined });
    else if (d.rangeEnd.length === 1 && d.rangeEnd[0] === 0) dels.push({ start: key, end: '' });
    else dels.push({ start: key, end: d.rangeEnd.toString('latin1') });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.request?.$case !== 'requestTxn') continue;
    const t = op.request.value;
    const a = checkIntervals(t.success);
    const b = checkIntervals(t.failure);
    for (const k of a.puts) {
      if (puts.has(k) || anyCovers(dels, k)) throw Errors.duplicateKey();
      puts.add(k);
    }
    for (const k of b.puts) {
      if (puts.has(k) && !a.puts.has(k)) throw Errors.duplicateKey();
      if (anyCovers(dels, k)) throw Errors.duplicateKey();
      puts.add(k);
    }
    dels.push(...a.dels, ...b.dels);
  }
  for (const op of ops) {
    if (op.request?.$case !== 'requestPut') continue;
    const k = op.request.value.key.toString('latin1');
    if (puts.has(k) || anyCovers(dels, k)) throw Errors.duplicateKey();
    puts.add(k);
  }
  return { puts, dels };
}

export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  checkTxnRequest(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}
