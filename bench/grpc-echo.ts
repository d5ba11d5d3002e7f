// Unary echo benchmark: our GrpcServer (node:http2) vs a @grpc/grpc-js Server, both driven by
// the same @grpc/grpc-js client. Each server runs in its own child process so its CPU time
// (user + system, from process.cpuUsage) can be divided by the calls it served.
//
//   node --import tsx bench/grpc-echo.ts [seconds-per-run=3] [payload-bytes=64]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ClientPortListener, GrpcServer } from '../packages/server/src/api/transport/index.js';

const path = '/bench.Echo/Echo';
const identity = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
type Kind = 'tsetcd' | 'grpc-js';

async function serve(kind: Kind): Promise<void> {
  let port: number;
  if (kind === 'tsetcd') {
    const server = new GrpcServer();
    server.addUnary(path, identity, identity, (req: Buffer) => req);
    const listener = new ClientPortListener({ grpc: server });
    port = (await listener.listen()).port;
    process.on('disconnect', () => void listener.close());
  } else {
    const server = new grpc.Server();
    server.register(path, (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
      identity, identity, 'unary');
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    process.on('disconnect', () => server.forceShutdown());
  }
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuMicros: u.user + u.system });
    }
  });
  process.send!({ port });
}

interface Result { kind: Kind; concurrency: number; callsPerSec: number; serverCpuMicrosPerCall: number }

interface Target { kind: Kind; child: ReturnType<typeof fork>; client: grpc.Client; cpu(): Promise<number> }

async function startTarget(kind: Kind): Promise<Target> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind], {
    execArgv: ['--import', 'tsx', ...(process.env.GRPC_BENCH_PROF === kind ? ['--cpu-prof', '--cpu-prof-dir=/tmp/grpc-bench-prof'] : [])],
  });
  const next = (): Promise<any> => new Promise((r) => child.once('message', r));
  const { port } = await next();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const cpu = async (): Promise<number> => {
    const p = next();
    child.send('cpu');
    return (await p).cpuMicros;
  };
  return { kind, child, client, cpu };
}

async function run(target: Target, payload: Buffer, concurrency: number, ms: number): Promise<number> {
  const call = (): Promise<void> => new Promise((resolve, reject) => {
    target.client.makeUnaryRequest(path, identity, identity, payload, (err) => (err ? reject(err) : resolve()));
  });
  let calls = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await call();
      calls++;
    }
  }));
  return calls;
}

async function measure(target: Target, payload: Buffer, concurrency: number, seconds: number): Promise<Result> {
  await run(target, payload, concurrency, 300);
  const cpu0 = await target.cpu();
  const t0 = performance.now();
  const calls = await run(target, payload, concurrency, seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await target.cpu();
  return { kind: target.kind, concurrency, callsPerSec: calls / elapsed, serverCpuMicrosPerCall: (cpu1 - cpu0) / calls };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (process.argv[2] === 'server') return serve(process.argv[3] as Kind);
  const seconds = Number(process.argv[2] ?? 2);
  const payloadBytes = Number(process.argv[3] ?? 64);
  const rounds = Number(process.argv[4] ?? 3);
  const payload = Buffer.alloc(payloadBytes, 7);
  const targets = [await startTarget('tsetcd'), await startTarget('grpc-js')];
  for (const t of targets) await run(t, payload, 16, 1000); // warm up both sides' JIT
  // Rounds alternate the servers so machine noise hits both alike; medians are reported.
  const samples = new Map<string, Result[]>();
  for (let r = 0; r < rounds; r++) {
    for (const concurrency of [1, 64]) {
      for (const t of targets) {
        const res = await measure(t, payload, concurrency, seconds);
        const key = `${t.kind}|${concurrency}`;
        samples.set(key, [...(samples.get(key) ?? []), res]);
      }
    }
  }
  for (const t of targets) {
    t.client.close();
    t.child.disconnect();
    await new Promise((r) => t.child.once('exit', r));
  }
  console.log(`unary echo, ${payloadBytes}-byte payload, ${rounds} rounds x ${seconds}s, grpc-js client, node ${process.version}, medians`);
  console.log('| server | concurrency | calls/s | server CPU µs/call |');
  console.log('|---|---:|---:|---:|');
  for (const [key, rs] of samples) {
    const [kind, concurrency] = key.split('|');
    console.log(`| ${kind} | ${concurrency} | ${Math.round(median(rs.map((r) => r.callsPerSec)))} | ${median(rs.map((r) => r.serverCpuMicrosPerCall)).toFixed(1)} |`);
  }
}

await main();
