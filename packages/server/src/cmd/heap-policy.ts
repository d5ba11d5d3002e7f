// The server command's V8 heap policy.
//
// V8 lets the old generation grow to up to 4x the live heap between major collections when the
// process allocates fast (a member under write load does), and gives the memory back only once
// it turns idle. etcd's Go runtime keeps its heap at 2x live (GOGC=100). The server command asks
// V8 for the same factor: a member's resident memory under load drops by ~30% (bench/RESULTS.md,
// "Memory policy") for a few more microseconds of GC per request.
//
// Applied by the `tsetcd` command only (bin/tsetcd, npx tsetcd, node dist/cmd/main.js), never
// when the server is embedded in another program. A `--heap-growing-percent` given to node
// wins; TSETCD_HEAP_GROWING_PERCENT sets another factor (0 restores V8's own policy).

import { setFlagsFromString } from 'node:v8';

/** 100: the heap may grow to twice the live size before the next major collection (GOGC=100) */
export const defaultHeapGrowingPercent = 100;

export function applyHeapPolicy(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
  setFlags: (flags: string) => void = setFlagsFromString,
): number | undefined {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return undefined;
  const raw = env.TSETCD_HEAP_GROWING_PERCENT;
  let percent = defaultHeapGrowingPercent;
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Error(`TSETCD_HEAP_GROWING_PERCENT: want an integer from 0 to 1000, got "${raw}"`);
    percent = n;
  }
  setFlags(`--heap-growing-percent=${percent}`);
  return percent;
}
