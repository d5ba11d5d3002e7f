// Greeter calls/s and p99 latency: the @tsetcd/rpc framework (etcd registration and
// discovery, p2c_ewma, default server + client interceptor chains) against a plain
// @grpc/grpc-js server and client, in the same run, at 1 and 64 concurrent callers.
// Each server runs in its own child process; the client load runs in this process. The
// framework is imported from dist/ (npx tsc -b packages/rpc first), as users get it.
//
//   node --import tsx bench/rpc-greeter.ts [seconds-per-run=3] [rounds=2]
// RPC_BENCH_SERVER_CONF / RPC_BENCH_CLIENT_CONF (JSON) merge into the framework's confs,
// e.g. '{"Middlewares":{"Trace":false}}' to price one interceptor. RPC_BENCH_PROF_DIR=dir writes
// each server's CPU profile there (run the bench itself with node --cpu-prof for the client's).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { RpcServer, RpcClient } from '@tsetcd/rpc';
import { GreeterService, GreeterClient, type GreeterServer } from '../examples/greeter/gen/hello.js';
import { startEtcd } from '../packages/rpc/test/helpers/etcd.js';

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
    const server = new grpc.Server();
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

async function drive(g: InstanceType<typeof GreeterClient>, server: ChildProcess, concurrency: number, seconds: number): Promise<Result> {
  const lat: number[] = [];
  let errors = 0;
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      g.sayHello({ name: 'bench' }, (err) => {
        if (err) errors++;
        else lat.push(performance.now() - t0);
        resolve();
      });
    });
  // warm-up
  const warmEnd = performance.now() + 500;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < warmEnd) await one();
  }));
  lat.length = 0;
  const serverCpu0 = await childCpuUs(server);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const timer = setTimeout(() => (running = false), seconds * 1000);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (running) await one();
  }));
  clearTimeout(timer);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const serverCpu = (await childCpuUs(server)) - serverCpu0;
  const n = lat.length + errors;
  lat.sort((a, b) => a - b);
  return {
    rps: lat.length / elapsed,
    p50: lat[Math.floor(lat.length * 0.5)] ?? 0,
    p99: lat[Math.floor(lat.length * 0.99)] ?? 0,
    errors,
    clientCpuUsPerCall: (cpu.user + cpu.system) / n,
    serverCpuUsPerCall: serverCpu / n,
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const rounds = Number(process.argv[3] ?? 2);
  const etcd = await startEtcd();
  const plainSrv = await spawnServer('plain', etcd.endpoint);
  const fwSrv = await spawnServer('framework', etcd.endpoint);
  const plain = new GreeterClient(`127.0.0.1:${plainSrv.port}`, grpc.credentials.createInsecure());
  const clientExtra = JSON.parse(process.env.RPC_BENCH_CLIENT_CONF ?? '{}') as Record<string, unknown>;
  const rpc = await RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: 'bench.rpc' }, ...clientExtra }, { logger: pino({ level: 'error' }) });
  const fw = rpc.service(GreeterClient);
  const rows: string[] = [];
  const empty = (): Result => ({ rps: 0, p50: 0, p99: 0, errors: 0, clientCpuUsPerCall: Infinity, serverCpuUsPerCall: Infinity });
  for (const concurrency of (process.env.RPC_BENCH_CONCURRENCY ?? '1,64').split(',').map(Number)) {
    const best = { plain: empty(), framework: empty() };
    for (let r = 0; r < rounds; r++) {
      // alternate the order so drifting machine load hits both sides alike
      const order = r % 2 === 0 ? (['plain', 'framework'] as const) : (['framework', 'plain'] as const);
      for (const name of order) {
        const res = name === 'plain' ? await drive(plain, plainSrv.child, concurrency, seconds) : await drive(fw, fwSrv.child, concurrency, seconds);
        const b = best[name];
        if (res.rps > b.rps) Object.assign(b, { rps: res.rps, p50: res.p50, p99: res.p99 });
        b.errors += res.errors;
        b.clientCpuUsPerCall = Math.min(b.clientCpuUsPerCall, res.clientCpuUsPerCall);
        b.serverCpuUsPerCall = Math.min(b.serverCpuUsPerCall, res.serverCpuUsPerCall);
      }
    }
    const cost = (1 - best.framework.rps / best.plain.rps) * 100;
    const cpuOf = (b: Result) => b.clientCpuUsPerCall + b.serverCpuUsPerCall;
    const cpuCost = (cpuOf(best.framework) / cpuOf(best.plain) - 1) * 100;
    for (const name of ['plain', 'framework'] as const) {
      const b = best[name];
      rows.push(`| ${concurrency} | ${name === 'plain' ? 'plain @grpc/grpc-js' : '@tsetcd/rpc (etcd + p2c + interceptors)'} | ${Math.round(b.rps)} | ${b.p50.toFixed(2)} | ${b.p99.toFixed(2)} | ${Math.round(b.clientCpuUsPerCall)} | ${Math.round(b.serverCpuUsPerCall)} | ${b.errors} |`);
    }
    rows.push(`| ${concurrency} | framework cost | ${cost.toFixed(1)}% fewer calls/s | | | +${cpuCost.toFixed(1)}% CPU per call (client+server) | | |`);
  }
  console.log('| concurrency | stack | calls/s | p50 ms | p99 ms | client CPU µs/call | server CPU µs/call | errors |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  plain.close();
  rpc.close();
  plainSrv.child.disconnect();
  fwSrv.child.disconnect();
  await Promise.all([plainSrv, fwSrv].map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
  await etcd.close();
}

if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4]);
else await main();
