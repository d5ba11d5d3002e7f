// The server command's heap policy: Go's GOGC=100 factor unless node or the environment says otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHeapPolicy } from '../src/cmd/heap-policy.js';

test('heap policy: 100% growth by default, node flag wins, environment overrides, bad values refused', () => {
  const set: string[] = [];
  const record = (f: string) => void set.push(f);
  assert.equal(applyHeapPolicy([], {}, record), 100);
  assert.equal(applyHeapPolicy(['--heap-growing-percent=300'], {}, record), undefined);
  assert.equal(applyHeapPolicy([], { TSETCD_HEAP_GROWING_PERCENT: '0' }, record), 0);
  assert.equal(applyHeapPolicy([], { TSETCD_HEAP_GROWING_PERCENT: ' ' }, record), 100);
  assert.deepEqual(set, ['--heap-growing-percent=100', '--heap-growing-percent=0', '--heap-growing-percent=100']);
  for (const bad of ['-1', 'x', '1.5', '5000']) {
    assert.throws(() => applyHeapPolicy([], { TSETCD_HEAP_GROWING_PERCENT: bad }, record), /TSETCD_HEAP_GROWING_PERCENT: want an integer from 0 to 1000/);
  }
});
