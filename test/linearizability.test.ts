// The checker itself: it accepts linearizable histories and rejects the classic anomalies
// (stale read, lost write, a read of a value never written, a CAS that both won and lost),
// including with unknown-outcome operations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkHistory, checkRegister, type HistoryOp, type KvOp } from './linearizability.js';

const op = (client: number, call: number, ret: number, o: KvOp, key = 'k'): HistoryOp => ({ key, call, ret, op: o, client });
const put = (value: string): KvOp => ({ kind: 'put', value });
const get = (result: string | undefined): KvOp => ({ kind: 'get', result });
const cas = (expect: string | undefined, value: string, result: boolean | undefined): KvOp => ({ kind: 'cas', expect, value, result });

test('sequential and overlapping linearizable histories pass', () => {
  assert.ok(checkRegister([op(1, 0, 1, put('a')), op(1, 2, 3, get('a')), op(2, 4, 5, put('b')), op(1, 6, 7, get('b'))]).ok);
  // a read overlapping a write may see either value
  assert.ok(checkRegister([op(1, 0, 1, put('a')), op(2, 2, 6, put('b')), op(1, 3, 4, get('a')), op(3, 3, 5, get('b'))]).ok);
  // but once b is seen, a read that starts later cannot see a again
  assert.ok(!checkRegister([op(1, 0, 1, put('a')), op(2, 2, 10, put('b')), op(1, 3, 4, get('b')), op(3, 5, 6, get('a'))]).ok);
});

test('stale read after an acknowledged write is a violation', () => {
  assert.ok(!checkRegister([op(1, 0, 1, put('a')), op(2, 2, 3, put('b')), op(3, 4, 5, get('a'))]).ok);
  assert.ok(!checkRegister([op(1, 0, 1, put('a')), op(3, 4, 5, get(undefined))]).ok);
});

test('a value nobody wrote is a violation; an unknown-outcome write may or may not happen', () => {
  assert.ok(!checkRegister([op(1, 0, 1, get('x'))]).ok);
  assert.ok(checkRegister([op(1, 0, Infinity, put('x')), op(2, 5, 6, get('x'))]).ok);
  assert.ok(checkRegister([op(1, 0, Infinity, put('x')), op(2, 5, 6, get(undefined))]).ok);
  // it cannot take effect before it was called
  assert.ok(!checkRegister([op(2, 0, 1, get('x')), op(1, 2, Infinity, put('x'))]).ok);
  // nor flip back and forth
  assert.ok(!checkRegister([op(1, 0, Infinity, put('x')), op(2, 5, 6, get('x')), op(2, 7, 8, get(undefined))]).ok);
});

test('compare-and-swap: two winners on the same expected value is a violation', () => {
  assert.ok(checkRegister([op(1, 0, 1, put('a')), op(2, 2, 5, cas('a', 'b', true)), op(3, 2, 5, cas('a', 'c', false)), op(1, 6, 7, get('b'))]).ok);
  assert.ok(!checkRegister([op(1, 0, 1, put('a')), op(2, 2, 5, cas('a', 'b', true)), op(3, 2, 5, cas('a', 'c', true))]).ok);
});

test('keys are checked independently and reported', () => {
  const r = checkHistory([op(1, 0, 1, put('a'), 'x'), op(1, 2, 3, get('a'), 'x'), op(2, 0, 1, put('a'), 'y'), op(2, 2, 3, get('z'), 'y')]);
  assert.deepEqual(r.badKeys, ['y']);
});

test('histories produced by a real sequential register are always linearizable (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('p', 'g', 'c'), fc.constantFrom('a', 'b', 'c')), { maxLength: 40 }), (script) => {
      // simulate: each op takes effect at a point inside its [call, ret] window, windows overlap
      let state: string | undefined;
      const hist: HistoryOp[] = [];
      script.forEach(([client, kind, v], i) => {
        const at = i * 10;
        const call = at - (client + 1) * 3;
        const ret = at + (client + 1) * 4;
        let o: KvOp;
        if (kind === 'p') {
          o = put(v + i);
          state = v + i;
        } else if (kind === 'g') o = get(state);
        else {
          const hit = state === 'b' + (i - 1);
          o = cas('b' + (i - 1), 'c' + i, hit);
          if (hit) state = 'c' + i;
        }
        hist.push(op(client, call, ret, o));
      });
      return checkRegister(hist).ok;
    }),
    { numRuns: 200 },
  );
});
