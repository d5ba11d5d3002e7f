// check perf / check datascale: etcdctl's load checks (rate-limited puts of 256-byte keys and
// 1 KiB values from many concurrent clients, then a verdict on throughput and latency).

import { randomBytes } from 'node:crypto';
import { etcdserverpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import { Connection, grpcErrorText, type ConnectionConfig } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';
import type { Output } from '../output.js';
import { encodeVarint, formatGoDuration, prefixEnd } from '@tsetcd/common';

export interface PerfLoad {
  /** puts per second */
  limitPerSecond: number;
  clients: number;
  durationSeconds: number;
}

const perfLoads: Record<string, PerfLoad> = {
  s: { limitPerSecond: 150, clients: 50, durationSeconds: 60 },
  m: { limitPerSecond: 1000, clients: 200, durationSeconds: 60 },
  l: { limitPerSecond: 8000, clients: 500, durationSeconds: 60 },
  xl: { limitPerSecond: 15000, clients: 1000, durationSeconds: 60 },
};
const datascaleLoads: Record<string, { keys: number; kvBytes: number; clients: number }> = {
  s: { keys: 10000, kvBytes: 1024, clients: 50 },
  m: { keys: 100000, kvBytes: 1024, clients: 200 },
  l: { keys: 1000000, kvBytes: 1024, clients: 500 },
  xl: { keys: 3000000, kvBytes: 1024, clients: 1000 },
};
const loadAliases: Record<string, string> = { s: 's', small: 's', m: 'm', medium: 'm', l: 'l', large: 'l', xl: 'xl', xLarge: 'xl' };
/** gRPC channels shared by the load's clients (Node multiplexes calls on a channel). */
const checkChannelsMax = 16;
const perfSlowestLimitSeconds = 0.5;
const perfStddevLimitSeconds = 0.1;

interface LatencyStats {
  rps: number;
  slowest: number;
  stddev: number;
  errors: Map<string, number>;
}

/** Go's binary.PutVarint of a random non-negative int63 into a zeroed key of `size` bytes. */
function randomKey(size: number): Buffer {
  const k = Buffer.alloc(size);
  const v = (randomBytes(8).readBigUInt64BE(0) >> 1n) << 1n; // zig-zag of a non-negative number
  k.set(encodeVarint(v).slice(0, size));
  return k;
}

/** Runs `total` (or time-limited) puts from `workers` concurrent loops; collects latencies. */
async function runLoad(conns: Connection[], workers: number, next: () => Promise<etcdserverpb.PutRequest | undefined>, onDone?: () => void): Promise<LatencyStats> {
  const lats: number[] = [];
  const errors = new Map<string, number>();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const c = conns[w % conns.length];
      for (let req = await next(); req; req = await next()) {
        const st = process.hrtime.bigint();
        try {
          await c.call(c.raw.kv.put, req, 0);
          lats.push(Number(process.hrtime.bigint() - st) / 1e9);
        } catch (e) {
          const t = grpcErrorText(e);
          errors.set(t, (errors.get(t) ?? 0) + 1);
        }
        onDone?.();
      }
    }),
  );
  const totalSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const mean = lats.reduce((a, b) => a + b, 0) / Math.max(1, lats.length);
  const variance = lats.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, lats.length);
  return { rps: lats.length / totalSeconds, slowest: lats.length ? Math.max(...lats) : 0, stddev: Math.sqrt(variance), errors };
}

/** Progress on stdout as cheggaaa/pb prints it without a terminal: counter, percent, ETA. */
function progress(out: Output, total: number): { set(n: number): void; finish(): void } {
  const started = Date.now();
  const pct = (n: number) => ((100 * Math.min(n, total)) / total).toFixed(2).padStart(7);
  const two = (v: number) => String(v).padStart(2, '0');
  const draw = (n: number) => {
    let eta = '';
    if (n > 0) {
      const left = Math.round(((Date.now() - started) / n) * (total - n) / 1000);
      eta = ` ${two(Math.floor(left / 60))}m${two(left % 60)}s`;
    }
    out.stdout(`\r ${n} / ${total} ${pct(n)}%${eta}`);
  };
  return {
    set: draw,
    finish: () => out.stdout(`\r ${total} / ${total} ${pct(total)}% ${formatGoDuration(BigInt(Math.round((Date.now() - started) / 1000)) * 1_000_000_000n)}\n`),
  };
}

async function ensureEmptyPrefix(c: Connection, prefix: string): Promise<void> {
  const key = Buffer.from(prefix, 'utf8');
  const r = await c.must(c.raw.kv.range, { key, rangeEnd: prefixEnd(key), limit: 1n }, ExitCode.Error, undefined, 60_000);
  if (r.kvs.length > 0) throw new CtlExit(ExitCode.InvalidInput, `prefix ${JSON.stringify(prefix)} has keys. Delete with etcdctl del --prefix ${prefix} first`);
}

async function cleanup(ctx: RunContext, c: Connection, prefix: string, cfg: ConnectionConfig): Promise<void> {
  const key = Buffer.from(prefix, 'utf8');
  const d = await c.must(c.raw.kv.deleteRange, { key, rangeEnd: prefixEnd(key) }, ExitCode.Error, undefined, 30_000);
  if (ctx.flags.getBool('auto-compact')) {
    const rev = d.header?.revision ?? 0n;
    ctx.out.stdout(`Compacting with revision ${rev}\n`);
    await c.must(c.raw.kv.compact, { revision: rev, physical: true }, ExitCode.Error, undefined, 30_000);
    ctx.out.stdout(`Compacted with revision ${rev}\n`);
  }
  if (ctx.flags.getBool('auto-defrag')) {
    for (const ep of cfg.endpoints) {
      ctx.out.stdout(`Defragmenting ${JSON.stringify(ep)}\n`);
      const one = await ctx.session.clientFor(ep, cfg);
      await one.must(one.raw.maintenance.defragment, {}, ExitCode.Error, undefined, 30_000);
      ctx.out.stdout(`Defragmented ${JSON.stringify(ep)}\n`);
    }
  }
}

/** The perf check itself (exported so that a short load can be tested). */
export async function checkPerf(ctx: RunContext, load: PerfLoad): Promise<void> {
  const s = ctx.session;
  const cfg = await s.clientConfig();
  const prefix = ctx.flags.getString('prefix');
  const conns: Connection[] = [];
  for (let i = 0; i < Math.min(load.clients, checkChannelsMax); i++) conns.push(await s.client());
  await ensureEmptyPrefix(conns[0], prefix);
  const value = Buffer.alloc(1024);
  const intervalNs = BigInt(Math.round(1e9 / load.limitPerSecond));
  const endAt = process.hrtime.bigint() + BigInt(load.durationSeconds) * 1_000_000_000n;
  let nextAt = process.hrtime.bigint();
  // Token bucket of burst 1: one request every 1/limit seconds until the duration ends.
  const next = async (): Promise<etcdserverpb.PutRequest | undefined> => {
    const at = nextAt;
    nextAt += intervalNs;
    if (at >= endAt) return undefined;
    const wait = Number(at - process.hrtime.bigint()) / 1e6;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return etcdserverpb.PutRequest.fromPartial({ key: Buffer.concat([Buffer.from(prefix, 'utf8'), randomKey(256)]), value });
  };
  const bar = progress(ctx.out, load.durationSeconds);
  bar.set(0);
  const started = Date.now();
  const ticker = setInterval(() => bar.set(Math.floor((Date.now() - started) / 1000)), 1000);
  let stats: LatencyStats;
  try {
    stats = await runLoad(conns, load.clients, next);
  } finally {
    clearInterval(ticker);
  }
  bar.finish();
  await cleanup(ctx, conns[0], prefix, cfg);
  let ok = true;
  const line = (t: string) => ctx.out.stdout(t + '\n');
  if (stats.errors.size !== 0) {
    line('FAIL: too many errors');
    for (const [k, v] of stats.errors) line(`FAIL: ERROR(${k}) -> ${v}`);
    ok = false;
  }
  if (stats.rps / load.limitPerSecond <= 0.9) {
    line(`FAIL: Throughput too low: ${Math.trunc(stats.rps) + 1} writes/s`);
    ok = false;
  } else line(`PASS: Throughput is ${Math.trunc(stats.rps) + 1} writes/s`);
  if (stats.slowest > perfSlowestLimitSeconds) {
    line(`Slowest request took too long: ${stats.slowest.toFixed(6)}s`);
    ok = false;
  } else line(`PASS: Slowest request took ${stats.slowest.toFixed(6)}s`);
  if (stats.stddev > perfStddevLimitSeconds) {
    line(`Stddev too high: ${stats.stddev.toFixed(6)}s`);
    ok = false;
  } else line(`PASS: Stddev is ${stats.stddev.toFixed(6)}s`);
  if (ok) line('PASS');
  else {
    line('FAIL');
    throw new CtlExit(ExitCode.Error, '');
  }
}

async function checkPerfRun(ctx: RunContext): Promise<void> {
  const model = loadAliases[ctx.flags.getString('load')];
  if (!model) throw new CtlExit(ExitCode.BadFeature, `unknown load option ${ctx.flags.getString('load')}`);
  await checkPerf(ctx, perfLoads[model]);
}

/** process_resident_memory_bytes from the endpoint's /metrics (0 when unavailable). */
async function residentMemoryBytes(ctx: RunContext, ep: string): Promise<number> {
  const url = (/^https?:\/\//.test(ep) ? ep : `http://${ep}`) + '/metrics';
  try {
    const text = await (await fetch(url)).text();
    const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
    if (!line) {
      ctx.out.stdout('could not find: process_resident_memory_bytes\n');
      return 0;
    }
    return parseFloat(line.slice('process_resident_memory_bytes'.length).trim()) || 0;
  } catch (e) {
    ctx.out.stdout(`fetch error: ${(e as Error).message}\n`);
    return 0;
  }
}

async function checkDatascaleRun(ctx: RunContext): Promise<void> {
  const model = loadAliases[ctx.flags.getString('load')];
  if (!model) throw new CtlExit(ExitCode.BadFeature, `unknown load option ${ctx.flags.getString('load')}`);
  const load = datascaleLoads[model];
  const s = ctx.session;
  const cfg = await s.clientConfig();
  const prefix = ctx.flags.getString('prefix');
  const conns: Connection[] = [];
  for (let i = 0; i < Math.min(load.clients, checkChannelsMax); i++) conns.push(await s.client());
  await ensureEmptyPrefix(conns[0], prefix);
  const ep = cfg.endpoints[0] ?? '127.0.0.1:2379';
  const before = await residentMemoryBytes(ctx, ep);
  if (before === 0) {
    ctx.out.stdout('FAIL: Could not read process_resident_memory_bytes before the put operations.\n');
    throw new CtlExit(ExitCode.Error, '');
  }
  ctx.out.stdout(`Start data scale check for work load [${load.keys} key-value pairs, ${load.kvBytes} bytes per key-value, ${load.clients} concurrent clients].\n`);
  const value = Buffer.alloc(512);
  let issued = 0;
  let done = 0;
  const bar = progress(ctx.out, load.keys);
  const next = async () => (issued++ < load.keys ? etcdserverpb.PutRequest.fromPartial({ key: Buffer.concat([Buffer.from(prefix, 'utf8'), randomKey(512)]), value }) : undefined);
  const stats = await runLoad(conns, load.clients, next, () => {
    done++;
    if (done % 100 === 0) bar.set(done);
  });
  bar.finish();
  const after = await residentMemoryBytes(ctx, ep);
  if (after === 0) {
    ctx.out.stdout('FAIL: Could not read process_resident_memory_bytes after the put operations.\n');
    throw new CtlExit(ExitCode.Error, '');
  }
  await cleanup(ctx, conns[0], prefix, cfg);
  if (stats.errors.size !== 0) {
    ctx.out.stdout('FAIL: too many errors\n');
    for (const [k, v] of stats.errors) ctx.out.stdout(`FAIL: ERROR(${k}) -> ${v}\n`);
    throw new CtlExit(ExitCode.Error, '');
  }
  ctx.out.stdout(`PASS: Approximate system memory used : ${((after - before) / (1024 * 1024)).toFixed(2)} MB.\n`);
}

const loadFlags = (what: string, prefix: string) => [
  { name: 'load', kind: 'string' as const, def: 's', usage: `The ${what} check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)` },
  { name: 'prefix', kind: 'string' as const, def: prefix, usage: `The prefix for writing the ${what} check's keys.` },
  { name: 'auto-compact', kind: 'bool' as const, def: 'false', usage: 'Compact storage with last revision after test is finished.' },
  { name: 'auto-defrag', kind: 'bool' as const, def: 'false', usage: 'Defragment storage after test is finished.' },
];

export const checkCommand: CommandDef = {
  use: 'check <subcommand>',
  short: 'commands for checking properties of the etcd cluster',
  children: [
    { use: 'perf [options]', short: 'Check the performance of the etcd cluster', flags: loadFlags('performance', '/etcdctl-check-perf/'), run: checkPerfRun },
    {
      use: 'datascale [options]',
      short: 'Check the memory usage of holding data for different workloads on a given server endpoint.',
      long: 'If no endpoint is provided, localhost will be used. If multiple endpoints are provided, first endpoint will be used.',
      flags: loadFlags('datascale', '/etcdctl-check-datascale/'),
      run: checkDatascaleRun,
    },
  ],
};
