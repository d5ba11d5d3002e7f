// Leader fail-over time, real etcd 3.4.23 vs tsetcd, three local members each with the default
// --heartbeat-interval 100 / --election-timeout 1000: kill -9 the leader, then time until the
// first successful put through a surviving member (a client retrying every 10 ms).
//   node --import tsx bench/cluster-failover.ts [reps]        prints a markdown table
import { Client } from '@tsetcd/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessCluster as TsetcdCluster } from '../test/kit/cluster.js';
import { tsetcdBin } from '../test/kit/tsetcd-process.js';

const reps = Number(process.argv[2] ?? 3);
const putRetryMs = 10;

async function once(bin: string): Promise<{ electMs: number; writeMs: number }> {
  const cleanups: Array<() => Promise<void>> = [];
  const t = { after: (fn: () => Promise<void>) => void cleanups.push(fn) };
  try {
    const c = await TsetcdCluster.start(t as never, { bin, args: ['--heartbeat-interval', '100', '--election-timeout', '1000'] });
    const lead = await c.leader(20_000);
    const survivors = [0, 1, 2].filter((i) => i !== lead);
    const cl = new Client({ endpoints: [c.clientUrl(survivors[0])], requestTimeout: 500, dialTimeout: 2000 });
    await cl.put('warm', 'up');
    await sleep(1000);
    const t0 = performance.now();
    await c.stopMember(lead, 'SIGKILL');
    let writeMs = -1;
    const leaderP = c.leader(30_000, survivors).then(() => performance.now() - t0);
    for (;;) {
      try {
        await cl.put('after', 'kill');
        writeMs = performance.now() - t0;
        break;
      } catch {
        await sleep(putRetryMs);
      }
    }
    const electMs = await leaderP;
    await cl.close();
    return { electMs, writeMs };
  } finally {
    for (const f of cleanups.reverse()) await f();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: string[] = [];
for (const [label, bin] of [['etcd 3.4.23', 'etcd'], ['tsetcd', tsetcdBin]] as const) {
  const w: number[] = [];
  const e: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r = await once(bin);
    w.push(r.writeMs);
    e.push(r.electMs);
    process.stderr.write(`${label} run ${i + 1}: first write ${Math.round(r.writeMs)} ms, leader seen ${Math.round(r.electMs)} ms\n`);
  }
  rows.push(`| ${label} | ${Math.round(median(w))} | ${w.map((x) => Math.round(x)).join(', ')} | ${Math.round(median(e))} |`);
}
console.log('| server | kill → first write, median (ms) | all runs (ms) | kill → leader agreed, median (ms) |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
