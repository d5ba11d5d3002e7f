// MVCC store benchmark: puts/s (one put per write txn, batched backend commits), point gets/s,
// range scans/s (100 keys each) at 100k and 1M keys; heap and RSS after loading.
// Run: node --expose-gc --import tsx bench/mvcc-bench.ts [keyCounts...]   (default 100000 1000000)
// Data goes to $MVCC_BENCH_DIR or the OS temp dir (a real disk: commits fsync).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore } from '../packages/server/src/mvcc/store.js';
import { mulberry32 } from '@tsetcd/common';

const valueBytes = 100;
const pointGets = 300_000;
const rangeScans = 20_000;
const rangeKeys = 100;

const keyOf = (i: number): Buffer => Buffer.from(`/registry/pods/ns-${(i % 97).toString().padStart(2, '0')}/pod-${i.toString().padStart(8, '0')}`);
function cpuSecondsSince(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
}
const mb = (n: number): string => (n / 1024 / 1024).toFixed(0);
const gc = (globalThis as { gc?: () => void }).gc;

async function bench(n: number): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(process.env.MVCC_BENCH_DIR ?? tmpdir(), 'mvcc-bench-'));
  const rand = mulberry32(n);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const value = Buffer.alloc(valueBytes, 0x61);
  const s = MvccStore.openDir(dir);
  try {
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    for (const i of order) {
      const tx = s.write();
      tx.put(keyOf(i), value, 0n);
      tx.end();
    }
    await s.backend.forceCommit();
    const putsPerSec = n / ((performance.now() - t0) / 1000);
    const putsPerCpuSec = n / cpuSecondsSince(c0);

    gc?.();
    const mem = process.memoryUsage();

    const probes = Array.from({ length: pointGets }, () => keyOf(Math.floor(rand() * n)));
    t0 = performance.now();
    c0 = process.cpuUsage();
    let found = 0;
    for (const k of probes) found += s.range(k).count;
    const getsPerSec = pointGets / ((performance.now() - t0) / 1000);
    const getsPerCpuSec = pointGets / cpuSecondsSince(c0);
    if (found !== pointGets) throw new Error('point gets missed keys');

    // ranges of ~100 consecutive keys within one namespace prefix
    const sorted = s.range(Buffer.from('/registry/pods/ns-00/'), { rangeEnd: Buffer.from('/registry/pods/ns-00/\xff', 'latin1'), keysOnly: true }).kvs.map((kv) => kv.key);
    t0 = performance.now();
    c0 = process.cpuUsage();
    let got = 0;
    for (let i = 0; i < rangeScans; i++) {
      const a = Math.floor(rand() * (sorted.length - rangeKeys));
      got += s.range(sorted[a], { rangeEnd: sorted[a + rangeKeys] }).kvs.length;
    }
    const rangesPerSec = rangeScans / ((performance.now() - t0) / 1000);
    const rangesPerCpuSec = rangeScans / cpuSecondsSince(c0);
    if (got !== rangeScans * rangeKeys) throw new Error('range scans returned the wrong number of keys');

    t0 = performance.now();
    await s.hashKV(0n);
    const hashMs = performance.now() - t0;
    // overwrite 10% of the keys, then compact everything before the overwrites away
    for (let i = 0; i < n; i += 10) {
      const tx = s.write();
      tx.put(keyOf(i), value, 0n);
      tx.end();
    }
    t0 = performance.now();
    await s.compact(s.currentRevision()).done;
    const compactMs = performance.now() - t0;

    t0 = performance.now();
    await s.close();
    const reopenStart = performance.now();
    const s2 = MvccStore.openDir(dir);
    await s2.restored; // a big index is rebuilt in slices of the event loop
    const reopenMs = performance.now() - reopenStart;
    const closeMs = reopenStart - t0;
    const size = s2.backend.size();
    await s2.close();
    return {
      keys: n,
      'puts/s (per CPU-s)': `${Math.round(putsPerSec)} (${Math.round(putsPerCpuSec)})`,
      'point gets/s (per CPU-s)': `${Math.round(getsPerSec)} (${Math.round(getsPerCpuSec)})`,
      [`range(${rangeKeys} keys)/s (per CPU-s)`]: `${Math.round(rangesPerSec)} (${Math.round(rangesPerCpuSec)})`,
      'heap MB': mb(mem.heapUsed),
      'RSS MB': mb(mem.rss),
      'db MB': mb(size),
      'hashKV ms': Math.round(hashMs),
      'compact ms': Math.round(compactMs),
      'reopen (index rebuild) ms': Math.round(reopenMs),
      'close ms': Math.round(closeMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const counts = process.argv.slice(2).map(Number);
const rows = [];
for (const n of counts.length > 0 ? counts : [100_000, 1_000_000]) {
  const r = await bench(n);
  console.log(JSON.stringify(r));
  rows.push(r);
  gc?.();
}
const cols = Object.keys(rows[0]);
console.log(`| ${cols.join(' | ')} |`);
console.log(`|${cols.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
