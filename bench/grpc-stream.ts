// Server-streaming flood (a watch storm): the server writes N small messages as fast as the
// client's flow control lets it (honoring write()/drained() back-pressure), our GrpcServer vs
// a @grpc/grpc-js Server, each in its own child process for its CPU time.
//
//   node --import tsx bench/grpc-stream.ts [messages=100000] [payload-bytes=100] [rounds=3]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ClientPortListener, GrpcServer, type ServerStreamCall } from '../packages/server/src/grpc/index.js';

const path = '/bench.Flood/Flood';
const identity = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
type Kind = 'tsetcd' | 'grpc-js';

async function serve(kind: Kind, payloadBytes: number): Promise<void> {
  const payload = Buffer.alloc(payloadBytes, 1);
  let port: number;
  if (kind === 'tsetcd') {
    const server = new GrpcServer();
    server.addServerStream(path, identity, identity, async (req: Buffer, call: ServerStreamCall) => {
      const n = req.readUInt32BE(0);
      for (let i = 0; i < n && !call.cancelled; i++) {
        if (!call.write(payload)) await call.drained();
      }
    });
    const listener = new ClientPortListener({ grpc: server });
    port = (await listener.listen()).port;
    process.on('disconnect', () => void listener.close());
  } else {
    const server = new grpc.Server();
    server.register(path, async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request.readUInt32BE(0);
      for (let i = 0; i < n && !call.cancelled; i++) {
        if (!call.write(payload)) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    }, identity, identity, 'serverStream');
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

async function main(): Promise<void> {
  if (process.argv[2] === 'server') return serve(process.argv[3] as Kind, Number(process.argv[4]));
  const messages = Number(process.argv[2] ?? 100_000);
  const payloadBytes = Number(process.argv[3] ?? 100);
  const rounds = Number(process.argv[4] ?? 3);
  const targets = await Promise.all((['tsetcd', 'grpc-js'] as Kind[]).map(async (kind) => {
    const child = fork(fileURLToPath(import.meta.url), ['server', kind, String(payloadBytes)], { execArgv: ['--import', 'tsx'] });
    const next = (): Promise<any> => new Promise((r) => child.once('message', r));
    const { port } = await next();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const cpu = async (): Promise<number> => {
      const p = next();
      child.send('cpu');
      return (await p).cpuMicros;
    };
    return { kind, child, client, cpu };
  }));
  const flood = (client: grpc.Client, n: number): Promise<number> => new Promise((resolve, reject) => {
    const req = Buffer.alloc(4);
    req.writeUInt32BE(n, 0);
    const st = client.makeServerStreamRequest(path, identity, identity, req);
    let got = 0;
    st.on('data', () => { got++; });
    st.on('error', reject);
    st.on('end', () => resolve(got));
  });
  for (const t of targets) await flood(t.client, 20_000); // warm up
  const results = new Map<Kind, Array<{ perSec: number; cpu: number }>>();
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const c0 = await t.cpu();
      const t0 = performance.now();
      const got = await flood(t.client, messages);
      const secs = (performance.now() - t0) / 1000;
      const c1 = await t.cpu();
      if (got !== messages) throw new Error(`${t.kind}: got ${got} of ${messages}`);
      results.set(t.kind, [...(results.get(t.kind) ?? []), { perSec: got / secs, cpu: (c1 - c0) / got }]);
    }
  }
  for (const t of targets) {
    t.client.close();
    t.child.disconnect();
    await new Promise((r) => t.child.once('exit', r));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`server-stream flood, ${messages} x ${payloadBytes}-byte messages, ${rounds} rounds, grpc-js client, node ${process.version}, medians`);
  console.log('| server | messages/s | server CPU µs/message |');
  console.log('|---|---:|---:|');
  for (const [kind, rs] of results) {
    console.log(`| ${kind} | ${Math.round(median(rs.map((x) => x.perSec)))} | ${median(rs.map((x) => x.cpu)).toFixed(2)} |`);
  }
}

await main();
