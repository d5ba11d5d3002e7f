// Concurrent clients for fault tests: each runs puts, linearizable gets and compare-and-swap
// txns on a few keys against its own member, recording a history for the linearizability
// checker and every acknowledged write with its revision.

import { compare, op, type Client } from '@tsetcd/client';
import type { HistoryOp } from './linearizability.js';

export interface AckedWrite {
  key: string;
  value: string;
  revision: bigint;
}

export interface Workload {
  history: HistoryOp[];
  acked: AckedWrite[];
  /** successful operations per client */
  okCount: number[];
  errors: string[];
  stop(): Promise<void>;
  /** resolves at the first success after `since` (performance.now() ms) */
  firstSuccessAfter(since: number): Promise<number>;
}

export const workloadKeys = ['k0', 'k1', 'k2', 'k3'];

export function runWorkload(clients: Client[], opts: { prefix?: string } = {}): Workload {
  const prefix = opts.prefix ?? 'lin/';
  const history: HistoryOp[] = [];
  const acked: AckedWrite[] = [];
  const okCount = clients.map(() => 0);
  const errors: string[] = [];
  const successWaiters: Array<{ since: number; resolve: (t: number) => void }> = [];
  let stopping = false;
  let seq = 0;
  const success = (t: number): void => {
    for (let i = successWaiters.length - 1; i >= 0; i--) {
      if (t > successWaiters[i].since) {
        successWaiters[i].resolve(t);
        successWaiters.splice(i, 1);
      }
    }
  };
  const loop = async (c: Client, ci: number): Promise<void> => {
    let n = 0;
    while (!stopping) {
      const key = workloadKeys[(ci + n++) % workloadKeys.length];
      const full = prefix + key;
      const r = Math.random();
      const call = performance.now();
      const putValue = `c${ci}-${++seq}`;
      try {
        if (r < 0.45) {
          const value = putValue;
          const res = await c.put(full, value);
          const ret = performance.now();
          history.push({ key, call, ret, op: { kind: 'put', value }, client: ci });
          acked.push({ key, value, revision: res.revision });
          success(ret);
        } else if (r < 0.85) {
          const res = await c.get(full);
          const ret = performance.now();
          history.push({ key, call, ret, op: { kind: 'get', result: res.kvs[0]?.value.toString() }, client: ci });
          success(ret);
        } else {
          // CAS from the value last read by this client (or absent)
          const cur = await c.get(full, { serializable: true }).catch(() => undefined);
          const expect = cur?.kvs[0]?.value.toString();
          const value = `c${ci}-${++seq}`;
          const c2 = performance.now();
          const t = c.txn().if(expect === undefined ? compare.version(full, '=', 0) : compare.value(full, '=', expect)).then(op.put(full, value));
          try {
            const res = await t.commit();
            const ret = performance.now();
            history.push({ key, call: c2, ret, op: { kind: 'cas', expect, value, result: res.succeeded }, client: ci });
            if (res.succeeded) acked.push({ key, value, revision: res.revision });
            success(ret);
          } catch (e) {
            history.push({ key, call: c2, ret: Infinity, op: { kind: 'cas', expect, value, result: undefined }, client: ci });
            throw e;
          }
        }
        okCount[ci]++;
      } catch (e) {
        if (r < 0.45) {
          // unknown outcome: the put may or may not have been applied
          history.push({ key, call, ret: Infinity, op: { kind: 'put', value: putValue }, client: ci });
        }
        if (errors.length < 50) errors.push(String((e as Error).message ?? e));
        // paces retries while there is no leader; nothing waits on this pause
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  const running = clients.map((c, i) => loop(c, i));
  return {
    history,
    acked,
    okCount,
    errors,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
    firstSuccessAfter(since: number) {
      return new Promise((resolve) => successWaiters.push({ since, resolve }));
    },
  };
}
