// A linearizability checker for a key-value store, Wing & Gong's search with Lowe's memoization
// (the idea behind Porcupine), run per key: a KV history is linearizable iff each key's
// sub-history is (P-compositionality), which keeps every search small.
//
// Operations on one key are a register: put(v), get() -> v | undefined, cas(expect, v) -> bool.
// An operation whose outcome the client does not know (timeout, connection lost) has
// ret = Infinity: it may take effect at any point after its call, or never.

export type KvOp =
  | { kind: 'put'; value: string }
  | { kind: 'get'; result: string | undefined }
  | { kind: 'cas'; expect: string | undefined; value: string; result: boolean | undefined };

export interface HistoryOp {
  key: string;
  /** invocation and response times (ms, one monotonic clock); ret = Infinity: unknown outcome */
  call: number;
  ret: number;
  op: KvOp;
  client: number;
}

export interface CheckResult {
  ok: boolean;
  /** keys whose history is not linearizable */
  badKeys: string[];
  /** states explored (for budgets) */
  explored: number;
}

/** Largest search a single key may need before the checker gives up (a test bug, not a verdict). */
export const maxExploredStatesPerKey = 2_000_000;

type State = string | undefined;

function step(s: State, op: KvOp): { ok: boolean; next: State } {
  switch (op.kind) {
    case 'put':
      return { ok: true, next: op.value };
    case 'get':
      return { ok: op.result === s, next: s };
    case 'cas': {
      const hit = s === op.expect;
      if (op.result === undefined) return { ok: true, next: hit ? op.value : s };
      return { ok: op.result === hit, next: hit ? op.value : s };
    }
  }
}

/** Checks one key's operations (all on the same key) from the initial value `init`. */
export function checkRegister(ops: HistoryOp[], init: State = undefined): { ok: boolean; explored: number } {
  // reads with unknown outcome constrain nothing; drop them
  const all = ops.filter((o) => !(o.op.kind === 'get' && o.ret === Infinity)).sort((a, b) => a.call - b.call);
  const n = all.length;
  const required = all.filter((o) => o.ret !== Infinity).length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let explored = 0;
  const key = (s: State): string => `${s === undefined ? '\u0000' : 'v' + s}|${Buffer.from(done).toString('base64')}`;

  const search = (s: State, linearizedRequired: number): boolean => {
    if (linearizedRequired === required) return true;
    if (++explored > maxExploredStatesPerKey) throw new Error('linearizability search budget exceeded');
    const memo = key(s);
    if (seen.has(memo)) return false;
    seen.add(memo);
    // an op may go next iff it was called before every pending op's return
    let minRet = Infinity;
    for (let i = 0; i < n; i++) if (!done[i] && all[i].ret < minRet) minRet = all[i].ret;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const o = all[i];
      if (o.call > minRet) break; // sorted by call: nobody later qualifies
      const r = step(s, o.op);
      if (!r.ok) continue;
      done[i] = 1;
      if (search(r.next, linearizedRequired + (o.ret === Infinity ? 0 : 1))) return true;
      done[i] = 0;
    }
    return false;
  };
  return { ok: search(init, 0), explored };
}

export function checkHistory(history: HistoryOp[], init: Map<string, string | undefined> = new Map()): CheckResult {
  const byKey = new Map<string, HistoryOp[]>();
  for (const h of history) {
    const l = byKey.get(h.key) ?? [];
    l.push(h);
    byKey.set(h.key, l);
  }
  const badKeys: string[] = [];
  let explored = 0;
  for (const [k, ops] of byKey) {
    const r = checkRegister(ops, init.get(k));
    explored += r.explored;
    if (!r.ok) badKeys.push(k);
  }
  return { ok: badKeys.length === 0, badKeys, explored };
}
