// Unary echo benchmark: our GrpcServer (node:http2) vs a @grpc/grpc-js Server, both driven by
// the same @grpc/grpc-js client. Each server runs in its own child process so its CPU time
// (user + system, from process.cpuUsage) can be divided by the calls it served.
//
//   node --import tsx bench/grpc-echo.ts [seconds-per-run=2] [payload-bytes=64] [rounds=3]
// A second load generator, a bare node:http2 client (raw-h2), costs far less CPU than grpc-js
// and so shows more of what the servers can do. GRPC_BENCH_CLIENTS=grpc-js runs only grpc-js.
// GRPC_BENCH_SERVERS=tsetcd,grpc-js,bare-h2 adds a bare node:http2 echo handler as the floor;
// tsetcd-node and tsetcd-lean force the client port's HTTP/2 layer (node:http2, or our own http2/).
import { fork } from 'node:child_process';
import * as http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ClientPortListener, frameMessage, GrpcServer } from '../packages/server/src/grpc/index.js';

const path = '/bench.Echo/Echo';
const identity = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
type Kind = 'tsetcd' | 'tsetcd-node' | 'tsetcd-lean' | 'grpc-js' | 'bare-h2';

async function serve(kind: Kind): Promise<void> {
  let port: number;
  if (kind === 'tsetcd' || kind === 'tsetcd-node' || kind === 'tsetcd-lean') {
    const server = new GrpcServer();
    server.addUnary(path, identity, identity, (req: Buffer) => req);
    const leanHttp2 = kind === 'tsetcd' ? undefined : kind === 'tsetcd-lean';
    const listener = new ClientPortListener({ grpc: server, leanHttp2 });
    port = (await listener.listen()).port;
    process.on('disconnect', () => void listener.close());
  } else if (kind === 'bare-h2') {
    // The floor: a node:http2 handler that echoes the framed request with a status trailer,
    // no gRPC checks, no decoding, no call object.
    const server = http2.createServer();
    server.on('stream', (stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      });
    });
    port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    process.on('disconnect', () => server.close());
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

type ClientKind = 'grpc-js' | 'raw-h2';
interface Result { kind: Kind; client: ClientKind; concurrency: number; callsPerSec: number; serverCpuMicrosPerCall: number }

interface Target {
  kind: Kind; child: ReturnType<typeof fork>; client: grpc.Client; h2: http2.ClientHttp2Session; cpu(): Promise<number>;
}

const rawHeaders = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', 'te': 'trailers' };

/** A minimal gRPC unary call on a bare node:http2 session: far cheaper than grpc-js, so the server is the bottleneck. */
function rawCall(session: http2.ClientHttp2Session, framed: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const st = session.request(rawHeaders);
    let status: string | undefined;
    st.on('response', (h) => { if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); });
    st.on('trailers', (h) => { status = String(h['grpc-status']); });
    st.on('data', () => {});
    st.on('close', () => (status === '0' ? resolve() : reject(new Error(`grpc-status ${status}`))));
    st.end(framed);
  });
}

async function startTarget(kind: Kind): Promise<Target> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind], {
    execArgv: ['--import', 'tsx', ...(process.env.GRPC_BENCH_PROF === kind ? ['--cpu-prof', '--cpu-prof-dir=/tmp/grpc-bench-prof'] : [])],
  });
  const next = (): Promise<any> => new Promise((r) => child.once('message', r));
  const { port } = await next();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const h2 = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1 << 20 } });
  const cpu = async (): Promise<number> => {
    const p = next();
    child.send('cpu');
    return (await p).cpuMicros;
  };
  return { kind, child, client, h2, cpu };
}

async function run(target: Target, client: ClientKind, payload: Buffer, concurrency: number, ms: number): Promise<number> {
  const framed = frameMessage(payload);
  const call = client === 'raw-h2'
    ? (): Promise<void> => rawCall(target.h2, framed)
    : (): Promise<void> => new Promise((resolve, reject) => {
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

async function measure(target: Target, client: ClientKind, payload: Buffer, concurrency: number, seconds: number): Promise<Result> {
  await run(target, client, payload, concurrency, 300);
  const cpu0 = await target.cpu();
  const t0 = performance.now();
  const calls = await run(target, client, payload, concurrency, seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await target.cpu();
  return { kind: target.kind, client, concurrency, callsPerSec: calls / elapsed, serverCpuMicrosPerCall: (cpu1 - cpu0) / calls };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (process.argv[2] === 'server') return serve(process.argv[3] as Kind);
  const seconds = Number(process.argv[2] ?? 2);
  const payloadBytes = Number(process.argv[3] ?? 64);
  const rounds = Number(process.argv[4] ?? 3);
  const payload = Buffer.alloc(payloadBytes, 7);
  const kinds = (process.env.GRPC_BENCH_SERVERS ?? 'tsetcd,grpc-js').split(',') as Kind[];
  const targets = await Promise.all(kinds.map((k) => startTarget(k)));
  const clients = (process.env.GRPC_BENCH_CLIENTS ?? 'grpc-js,raw-h2').split(',') as ClientKind[];
  for (const t of targets) for (const c of clients) await run(t, c, payload, 16, 1000); // warm up both sides' JIT
  // Rounds alternate the servers so machine noise hits both alike; medians are reported.
  const samples = new Map<string, Result[]>();
  for (let r = 0; r < rounds; r++) {
    for (const client of clients) for (const concurrency of [1, 64]) {
      for (const t of targets) {
        const res = await measure(t, client, payload, concurrency, seconds);
        const key = `${client}|${concurrency}|${t.kind}`;
        samples.set(key, [...(samples.get(key) ?? []), res]);
      }
    }
  }
  for (const t of targets) {
    t.client.close();
    t.h2.close();
    t.child.disconnect();
    await new Promise((r) => t.child.once('exit', r));
  }
  console.log(`unary echo, ${payloadBytes}-byte payload, ${rounds} rounds x ${seconds}s, node ${process.version}, medians`);
  console.log('| client | concurrency | server | calls/s | server CPU µs/call |');
  console.log('|---|---:|---|---:|---:|');
  for (const [key, rs] of samples) {
    const [client, concurrency, kind] = key.split('|');
    console.log(`| ${client} | ${concurrency} | ${kind} | ${Math.round(median(rs.map((r) => r.callsPerSec)))} | ${median(rs.map((r) => r.serverCpuMicrosPerCall)).toFixed(1)} |`);
  }
}

await main();
