// Preloaded into a tsetcd member by bench/memory-side-by-side.sh (node --import): on SIGUSR2 it
// appends one line to $HEAP_PROBE_OUT with V8's heap figures, before and after a full GC (the
// live heap vs what V8 holds). Measurement only: never part of a member's normal start.
import v8 from 'node:v8';
import vm from 'node:vm';
import { appendFileSync } from 'node:fs';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const mib = (x) => (x / 1048576).toFixed(0);
const out = process.env.HEAP_PROBE_OUT;

process.on('SIGUSR2', () => {
  const before = process.memoryUsage();
  const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  const oldBefore = old();
  gc();
  const after = process.memoryUsage();
  const line = [
    `heapTotal=${mib(before.heapTotal)}`,
    `heapUsed=${mib(before.heapUsed)}`,
    `liveAfterGc=${mib(after.heapUsed)}`,
    `oldSpace=${mib(oldBefore.space_used_size)}/${mib(oldBefore.physical_space_size)}`,
    `arrayBuffers=${mib(before.arrayBuffers)}`,
    `arrayBuffersAfterGc=${mib(after.arrayBuffers)}`,
  ].join(' ');
  if (out) appendFileSync(out, line + '\n');
});
