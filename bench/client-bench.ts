// Client overhead: requests/s of @tsetcd/client against the npm `etcd3` client, both talking to
// the same real etcd in the same run, for put and get at 1 and 64 concurrent callers.
// Runs alternate between the clients (rounds), and the median per cell is reported.
//
//   node --import tsx bench/client-bench.ts [seconds-per-run=2] [rounds=3]
// ETCD_TARGET=tsetcd benchmarks against ./bin/tsetcd instead.
import { Etcd3 } from 'etcd3';
import { Client } from '../packages/client/src/index.js';
import { ProcessCluster, targetBin } from '../test/kit/cluster.js';

const secondsPerRun = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 3);
const concurrencies = [1, 64];
const value = 'v'.repeat(64);

type Op = (i: number) => Promise<unknown>;
interface Driver {
  name: string;
  put: Op;
  get: Op;
  close(): Promise<void> | void;
}

/** Requests/s and this process's CPU (user+system) µs per request. */
async function run(op: Op, concurrency: number, ms: number): Promise<[number, number]> {
  let done = 0;
  const until = Date.now() + ms;
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; Date.now() < until; i += concurrency) {
        await op(i);
        done++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return [done / seconds, (cpu.user + cpu.system) / Math.max(done, 1)];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  // No fsync: the disk would otherwise dominate and hide the clients' own cost.
  const cluster = await ProcessCluster.start(undefined, { size: 1, bin: targetBin, args: ['--unsafe-no-fsync'] });
  const ep = cluster.endpoints[0];
  const ours = new Client({ endpoints: [ep] });
  const theirs = new Etcd3({ hosts: ep });
  const drivers: Driver[] = [
    {
      name: '@tsetcd/client',
      put: (i) => ours.put(`/bench/${i % 1000}`, value),
      get: (i) => ours.get(`/bench/${i % 1000}`),
      close: () => ours.close(),
    },
    {
      name: 'etcd3 (npm)',
      put: (i) => theirs.put(`/bench/${i % 1000}`).value(value).exec(),
      get: (i) => theirs.get(`/bench/${i % 1000}`).exec(),
      close: () => theirs.close(),
    },
  ];
  try {
    // Warm up both clients (connections, JIT) and fill the keys read by `get`.
    for (const d of drivers) await run(d.put, 16, 500);
    const results = new Map<string, Array<[number, number]>>();
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['put', 'get'] as const) {
        for (const c of concurrencies) {
          for (const d of r % 2 === 0 ? drivers : [...drivers].reverse()) {
            const key = `${kind}|${c}|${d.name}`;
            const res = await run(d[kind], c, secondsPerRun * 1000);
            results.set(key, [...(results.get(key) ?? []), res]);
          }
        }
      }
    }
    console.log(`| op | concurrency | client | requests/s (median) | client CPU µs/request (median) | requests/s per run |`);
    console.log(`|---|---:|---|---:|---:|---|`);
    for (const kind of ['put', 'get']) {
      for (const c of concurrencies) {
        for (const d of drivers) {
          const rs = results.get(`${kind}|${c}|${d.name}`) ?? [];
          const xs = rs.map((x) => x[0]);
          const cpu = median(rs.map((x) => x[1]));
          const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
          console.log(`| ${kind} | ${c} | ${d.name} | ${fmt(median(xs))} | ${cpu.toFixed(0)} | ${xs.map(fmt).join(' / ')} |`);
        }
      }
    }
  } finally {
    for (const d of drivers) await d.close();
    await cluster.close();
  }
}

await main();
