// Greeter calls/s and p99 latency: the @tsetcd/rpc framework (etcd registration and
// discovery, p2c_ewma, default server + client interceptor chains) against a plain
// @grpc/grpc-js server and client, in the same run, at 1 and 64 concurrent callers.
// Each server runs in its own child process; the client load runs in this process. The
// framework is imported from dist/ (npx tsc -b packages/rpc first), as users get it. The
// framework's cost is the median over rounds of framework/plain ratios; within a round the
// two stacks take turns in short slices (RPC_BENCH_SLICE_MS, default 250), so load that
// drifts on a shared machine falls on both alike. seconds-per-run is each stack's time per round.
//
//   node --import tsx bench/rpc-greeter.ts [seconds-per-run=3] [rounds=2]
// RPC_BENCH_SERVER_CONF / RPC_BENCH_CLIENT_CONF (JSON) merge into the framework's confs,
// e.g. '{"Middlewares":{"Trace":false}}' to price one interceptor. RPC_BENCH_PROF_DIR=dir writes
// each server's CPU profile there (run the bench itself with node --cpu-prof for the client's).
// RPC_BENCH_PLAIN_OPTS (JSON) are the plain grpc-js server's and client's options, e.g.
// '{"grpc.enable_channelz":0}' to compare against plain grpc-js with channelz off as the
// framework runs it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { RpcServer, RpcClient } from '@tsetcd/rpc';
import { GreeterService, GreeterClient, type GreeterServer } from '../examples/greeter/gen/hello.js';
import { startEtcd } from '../packages/rpc/test/helpers/etcd.js';

const plainOpts = JSON.parse(process.env.RPC_BENCH_PLAIN_OPTS ?? '{}') as grpc.ChannelOptions;
const impl: GreeterServer = { sayHello: (call, cb) => cb(null, { message: `hello ${call.request.name}` }) };

async function serve(kind: string, etcd: string): Promise<void> {
  let port: number;
  if (kind === 'framework') {
    const extra = JSON.parse(process.env.RPC_BENCH_SERVER_CONF ?? '{}') as Record<string, unknown>;
    const server = new RpcServer({ Name: 'bench.rpc', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd], Key: 'bench.rpc' }, ...extra }, { logger: pino({ level: 'warn' }) });
    server.addService(GreeterService, impl);
    port = (await server.start()).port;
    process.on('disconnect', () => void server.stop().then(() => process.exit(0)));
  } else {
    const server = new grpc.Server(plainOpts);
    server.addService(GreeterService, impl);
    port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    process.on('disconnect', () => server.tryShutdown(() => process.exit(0)));
  }
  process.on('message', (m: string) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuUs: u.user + u.system });
    }
  });
  process.send!({ port });
}

function childCpuUs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMsg = (m: { cpuUs?: number }) => {
      if (m.cpuUs === undefined) return;
      child.off('message', onMsg);
      resolve(m.cpuUs);
    };
    child.on('message', onMsg);
    child.send('cpu');
  });
}

function spawnServer(kind: string, etcd: string): Promise<{ child: ChildProcess; port: number }> {
  const prof = process.env.RPC_BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RPC_BENCH_PROF_DIR}/${kind}-server`] : [];
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind, etcd], { execArgv: ['--import', 'tsx', ...prof] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
  });
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  clientCpuUsPerCall: number;
  serverCpuUsPerCall: number;
}

interface Stack {
  g: InstanceType<typeof GreeterClient>;
  server: ChildProcess;
}

interface Acc {
  lat: number[];
  ok: number;
  inWindow: number;
  errors: number;
  windowMs: number;
  clientCpuUs: number;
  serverCpuUs: number;
}

const newAcc = (): Acc => ({ lat: [], ok: 0, inWindow: 0, errors: 0, windowMs: 0, clientCpuUs: 0, serverCpuUs: 0 });

/** `concurrency` callers for ms; calls finishing after the window still count for CPU per call. */
async function slice(s: Stack, concurrency: number, ms: number, acc: Acc | undefined): Promise<void> {
  let running = true;
  const a = acc ?? newAcc();
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      s.g.sayHello({ name: 'bench' }, (err) => {
        if (err) a.errors++;
        else {
          a.ok++;
          if (running) a.inWindow++;
          a.lat.push(performance.now() - t0);
        }
        resolve();
      });
    });
  const serverCpu0 = await childCpuUs(s.server);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const timer = setTimeout(() => {
    running = false;
    a.windowMs += performance.now() - start;
  }, ms);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (running) await one();
  }));
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpu0);
  a.clientCpuUs += cpu.user + cpu.system;
  a.serverCpuUs += (await childCpuUs(s.server)) - serverCpu0;
}

/**
 * One round: the two stacks take turns in slices of sliceMs (order alternating) for
 * `seconds` each, so load that drifts on the machine falls on both alike.
 */
async function round(plain: Stack, framework: Stack, concurrency: number, seconds: number): Promise<{ plain: Result; framework: Result }> {
  const sliceMs = Number(process.env.RPC_BENCH_SLICE_MS ?? 250);
  const acc = { plain: newAcc(), framework: newAcc() };
  for (const s of [plain, framework]) await slice(s, concurrency, 300, undefined); // warm-up
  const slices = Math.max(1, Math.round((seconds * 1000) / sliceMs));
  for (let i = 0; i < slices; i++) {
    const order = i % 2 === 0 ? (['plain', 'framework'] as const) : (['framework', 'plain'] as const);
    for (const name of order) await slice(name === 'plain' ? plain : framework, concurrency, sliceMs, acc[name]);
  }
  const result = (a: Acc): Result => {
    a.lat.sort((x, y) => x - y);
    const n = a.ok + a.errors;
    return {
      rps: (a.inWindow * 1000) / a.windowMs,
      p50: a.lat[Math.floor(a.lat.length * 0.5)] ?? 0,
      p99: a.lat[Math.floor(a.lat.length * 0.99)] ?? 0,
      errors: a.errors,
      clientCpuUsPerCall: a.clientCpuUs / n,
      serverCpuUsPerCall: a.serverCpuUs / n,
    };
  };
  return { plain: result(acc.plain), framework: result(acc.framework) };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const rounds = Number(process.argv[3] ?? 2);
  const etcd = await startEtcd();
  const plainSrv = await spawnServer('plain', etcd.endpoint);
  const fwSrv = await spawnServer('framework', etcd.endpoint);
  const plain = new GreeterClient(`127.0.0.1:${plainSrv.port}`, grpc.credentials.createInsecure(), plainOpts);
  const clientExtra = JSON.parse(process.env.RPC_BENCH_CLIENT_CONF ?? '{}') as Record<string, unknown>;
  const rpc = await RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: 'bench.rpc' }, ...clientExtra }, { logger: pino({ level: 'error' }) });
  const fw = rpc.service(GreeterClient);
  const rows: string[] = [];
  const empty = (): Result => ({ rps: 0, p50: 0, p99: 0, errors: 0, clientCpuUsPerCall: Infinity, serverCpuUsPerCall: Infinity });
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const costs: string[] = [];
  for (const concurrency of (process.env.RPC_BENCH_CONCURRENCY ?? '1,64').split(',').map(Number)) {
    const best = { plain: empty(), framework: empty() };
    const rps = { plain: [] as number[], framework: [] as number[] };
    const cpu = { plain: { client: [] as number[], server: [] as number[] }, framework: { client: [] as number[], server: [] as number[] } };
    // per-round pairs (the two stacks run back to back): the ratio survives load that drifts between rounds
    const ratio = { rps: [] as number[], client: [] as number[], server: [] as number[], total: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const got = await round({ g: plain, server: plainSrv.child }, { g: fw, server: fwSrv.child }, concurrency, seconds);
      for (const name of ['plain', 'framework'] as const) {
        const res = got[name];
        const b = best[name];
        if (res.rps > b.rps) Object.assign(b, { rps: res.rps, p50: res.p50, p99: res.p99 });
        b.errors += res.errors;
        rps[name].push(res.rps);
        cpu[name].client.push(res.clientCpuUsPerCall);
        cpu[name].server.push(res.serverCpuUsPerCall);
      }
      const p = got.plain!;
      const f = got.framework!;
      ratio.rps.push(f.rps / p.rps);
      ratio.client.push(f.clientCpuUsPerCall / p.clientCpuUsPerCall);
      ratio.server.push(f.serverCpuUsPerCall / p.serverCpuUsPerCall);
      ratio.total.push((f.clientCpuUsPerCall + f.serverCpuUsPerCall) / (p.clientCpuUsPerCall + p.serverCpuUsPerCall));
    }
    for (const name of ['plain', 'framework'] as const) {
      const b = best[name];
      rows.push(`| ${concurrency} | ${name === 'plain' ? 'plain @grpc/grpc-js' : '@tsetcd/rpc (etcd + p2c + interceptors)'} | ${Math.round(median(rps[name]))} (best ${Math.round(b.rps)}) | ${b.p50.toFixed(2)} | ${b.p99.toFixed(2)} | ${median(cpu[name].client).toFixed(1)} | ${median(cpu[name].server).toFixed(1)} | ${b.errors} |`);
    }
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
    costs.push(`| ${concurrency} | ${rounds} | ${((1 - median(ratio.rps)) * 100).toFixed(1)}% | ${pct(median(ratio.client) - 1)} | ${pct(median(ratio.server) - 1)} | ${pct(median(ratio.total) - 1)} |`);
  }
  console.log('| concurrency | stack | calls/s, median (best) | p50 ms | p99 ms | client CPU µs/call, median | server CPU µs/call, median | errors |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log('Framework cost, median of the per-round framework/plain ratios:');
  console.log('');
  console.log('| concurrency | rounds | fewer calls/s | client CPU per call | server CPU per call | client+server CPU per call |');
  console.log('|---|---|---|---|---|---|');
  for (const c of costs) console.log(c);
  plain.close();
  rpc.close();
  plainSrv.child.disconnect();
  fwSrv.child.disconnect();
  await Promise.all([plainSrv, fwSrv].map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
  await etcd.close();
}

if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4]);
else await main();
