// Leader fail-over, real etcd 3.4.23 vs tsetcd, three local members each with the default
// --heartbeat-interval 100 / --election-timeout 1000. Two faults:
//   kill       kill -9 the leader, then time until the first successful put through a surviving
//              member (a client retrying every 10 ms) and until the survivors agree on a leader;
//   blackhole  a TCP proxy stands in front of every member's advertised peer URL; the leader's
//              is black-holed (connections stay open but carry nothing, new ones are never
//              answered), then the same two times, and the commit rate through the survivors
//              (10 concurrent put loops for 3 s) before and after.
//   node --import tsx bench/cluster-failover.ts [reps] [kill|blackhole ...]   prints markdown tables
// TSETCD_BIN=<path> runs another tsetcd build (e.g. an older commit's worktree); FAILOVER_SERVERS=
// etcd,tsetcd (the default) picks the servers.
import { loadavg } from 'node:os';
import { Client } from '@tsetcd/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessCluster as TsetcdCluster } from '../test/kit/cluster.js';
import { tsetcdBin } from '../test/kit/tsetcd-process.js';

const reps = Number(process.argv[2] ?? 3);
const cases = process.argv.slice(3).length > 0 ? process.argv.slice(3) : ['kill', 'blackhole'];
const putRetryMs = 10;
const rateMs = 3000;
const rateLoops = 10;

interface Run {
  writeMs: number;
  electMs: number;
  /** puts/s through the survivors before and after (blackhole only) */
  rateBefore?: number;
  rateAfter?: number;
}

/** Puts acknowledged per second by `loops` concurrent put loops during `ms`. */
async function putRate(cl: Client, ms: number, loops: number): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, k) => {
      while (performance.now() < end) {
        try {
          await cl.put(`rate/${k}`, String(n));
          n++;
        } catch {
          await sleep(putRetryMs);
        }
      }
    }),
  );
  return (n * 1000) / ms;
}

async function once(bin: string, fault: string): Promise<Run> {
  const cleanups: Array<() => Promise<void>> = [];
  const t = { after: (fn: () => Promise<void>) => void cleanups.push(fn) };
  try {
    const c = await TsetcdCluster.start(t as never, { bin, proxies: fault === 'blackhole', args: ['--heartbeat-interval', '100', '--election-timeout', '1000'] });
    const lead = await c.leader(20_000);
    const survivors = [0, 1, 2].filter((i) => i !== lead);
    const endpoints = fault === 'blackhole' ? survivors.map((i) => c.clientUrl(i)) : [c.clientUrl(survivors[0])];
    const cl = new Client({ endpoints, requestTimeout: 500, dialTimeout: 2000 });
    await cl.put('warm', 'up');
    const rateBefore = fault === 'blackhole' ? await putRate(cl, rateMs, rateLoops) : undefined;
    await sleep(1000);
    const t0 = performance.now();
    if (fault === 'kill') await c.stopMember(lead, 'SIGKILL');
    else c.members[lead].proxy!.blackhole(true);
    let writeMs = -1;
    const leaderP = c.leader(30_000, survivors).then(() => performance.now() - t0);
    for (;;) {
      try {
        await cl.put('after', fault);
        writeMs = performance.now() - t0;
        break;
      } catch {
        await sleep(putRetryMs);
      }
    }
    const electMs = await leaderP;
    const rateAfter = fault === 'blackhole' ? await putRate(cl, rateMs, rateLoops) : undefined;
    await cl.close();
    return { electMs, writeMs, rateBefore, rateAfter };
  } finally {
    for (const f of cleanups.reverse()) await f();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r0 = (x: number): number => Math.round(x);
const load: number[] = [];
for (const fault of cases) {
  const rows: string[] = [];
  const servers = (process.env.FAILOVER_SERVERS ?? 'etcd,tsetcd').split(',');
  const tsetcd = process.env.TSETCD_BIN ?? tsetcdBin;
  const all: Array<[string, string]> = [['etcd 3.4.23', 'etcd'], [tsetcd === tsetcdBin ? 'tsetcd' : `tsetcd (${tsetcd})`, tsetcd]];
  for (const [label, bin] of all.filter(([l]) => servers.some((x) => l.startsWith(x)))) {
    const runs: Run[] = [];
    for (let i = 0; i < reps; i++) {
      load.push(loadavg()[0]);
      const r = await once(bin, fault);
      runs.push(r);
      const rates = r.rateAfter === undefined ? '' : `, puts/s before ${r0(r.rateBefore!)} after ${r0(r.rateAfter)}`;
      process.stderr.write(`${fault} ${label} run ${i + 1}: first write ${r0(r.writeMs)} ms, leader seen ${r0(r.electMs)} ms${rates}\n`);
    }
    const w = runs.map((r) => r.writeMs);
    const e = runs.map((r) => r.electMs);
    const rates = fault === 'blackhole' ? ` ${r0(median(runs.map((r) => r.rateBefore!)))} | ${r0(median(runs.map((r) => r.rateAfter!)))} |` : '';
    rows.push(`| ${label} | ${r0(median(w))} | ${w.map(r0).join(', ')} | ${r0(median(e))} | ${e.map(r0).join(', ')} |${rates}`);
  }
  const what = fault === 'kill' ? 'kill -9 the leader' : "black-hole the leader's advertised peer URL";
  console.log(`\n${what} (${reps} runs each):\n`);
  console.log(`| server | → first write, median (ms) | all runs (ms) | → leader agreed, median (ms) | all runs (ms) |${fault === 'blackhole' ? ' puts/s before | puts/s after |' : ''}`);
  console.log(`|---|---|---|---|---|${fault === 'blackhole' ? '---|---|' : ''}`);
  for (const r of rows) console.log(r);
}
console.log(`\nload average (1 min) at the start of each run: ${load.map((x) => x.toFixed(1)).join(', ')}`);
