// Server CPU per call of RpcServer conf variants against a plain @grpc/grpc-js server, each in
// its own child process, all driven from this process by the same kind of client (CLIENT=rpc,
// the default: RpcClient with its default chain; CLIENT=plain: a plain grpc-js client). The
// servers take turns in short slices for many cycles; CPU is read from each child around
// its slices.
//
//   node --import tsx bench/rpc-server-costs.ts [sliceMs=200] [cycles=30] [callers=64] 'name={"Middlewares":{"Trace":false}}' ...
// PROF_DIR=dir writes each server's --cpu-prof profile there. A conf of 'plain-nochannelz' is
// plain grpc-js with channelz off (as RpcServer runs it), e.g. 'plain0=plain-nochannelz'.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { RpcServer, RpcClient } from '@tsetcd/rpc';
import { GreeterService, GreeterClient, type GreeterServer } from '../examples/greeter/gen/hello.js';

const impl: GreeterServer = { sayHello: (call, cb) => cb(null, { message: `hello ${call.request.name}` }) };
if (process.argv[2] === '--serve') {
  const conf = process.argv[3];
  let port: number;
  if (conf === 'plain' || conf === 'plain-nochannelz') {
    // plain-nochannelz: grpc-js with channelz off, as RpcServer runs it
    const server = new grpc.Server(conf === 'plain' ? {} : { 'grpc.enable_channelz': 0 });
    server.addService(GreeterService, impl);
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    process.on('disconnect', () => server.tryShutdown(() => process.exit(0)));
  } else {
    const server = new RpcServer({ Name: 'x', ListenOn: '127.0.0.1:0', ...JSON.parse(conf) }, { logger: pino({ level: 'warn' }) });
    server.addService(GreeterService, impl);
    port = (await server.start()).port;
    process.on('disconnect', () => void server.stop().then(() => process.exit(0)));
  }
  process.on('message', () => { const u = process.cpuUsage(); process.send!({ cpuUs: u.user + u.system }); });
  process.send!({ port });
} else {
  const cpuOf = (child: ChildProcess) => new Promise<number>((resolve) => { child.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs)); child.send('cpu'); });
  const spawn = async (conf: string) => {
    const prof = process.env.PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF_DIR}`] : [];
    const child = fork(fileURLToPath(import.meta.url), ['--serve', conf], { execArgv: ['--import', 'tsx', ...prof] });
    const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
    return { child, addr: `127.0.0.1:${port}` };
  };
  const clientKind = process.env.CLIENT ?? 'rpc';
  const rpcs: RpcClient[] = [];
  const clientFor = async (addr: string) => {
    if (clientKind === 'plain') { const c = new GreeterClient(addr, grpc.credentials.createInsecure()); return c; }
    const c = await RpcClient.create({ Endpoints: [addr] }, { logger: pino({ level: 'error' }) });
    rpcs.push(c);
    return c.service(GreeterClient);
  };
  const specs: Array<[string, string]> = [['plain', 'plain'], ...process.argv.slice(5).map((a) => a.split('=', 2) as [string, string])];
  const vs = [] as Array<{ name: string; child: ChildProcess; g: InstanceType<typeof GreeterClient> }>;
  for (const [name, conf] of specs) { const s = await spawn(conf); vs.push({ name, child: s.child, g: await clientFor(s.addr) }); }
  const sliceMs = Number(process.argv[2] ?? 200);
  const cycles = Number(process.argv[3] ?? 30);
  const conc = Number(process.argv[4] ?? 64);
  const tot = new Map(vs.map((v) => [v.name, { cpu: 0, scpu: 0, ok: 0 }]));
  for (let r = -2; r < cycles; r++) {
    const order = r % 2 ? [...vs].reverse() : vs;
    for (const v of order) {
      let ok = 0; let running = true;
      const one = () => new Promise<void>((resolve) => v.g.sayHello({ name: 'bench' }, (e) => { if (!e) ok++; resolve(); }));
      const s0 = await cpuOf(v.child);
      const c0 = process.cpuUsage();
      const t = setTimeout(() => (running = false), sliceMs);
      await Promise.all(Array.from({ length: conc }, async () => { while (running) await one(); }));
      clearTimeout(t);
      const c = process.cpuUsage(c0);
      const s1 = await cpuOf(v.child);
      if (r < 0) continue;
      const x = tot.get(v.name)!; x.cpu += c.user + c.system; x.scpu += s1 - s0; x.ok += ok;
    }
  }
  const b = tot.get('plain')!;
  for (const [n, x] of tot) console.log(`${n.padEnd(24)} server ${(x.scpu / x.ok).toFixed(1).padStart(6)} (${(x.scpu / x.ok - b.scpu / b.ok).toFixed(1)})  client ${(x.cpu / x.ok).toFixed(1).padStart(6)} µs/call  ${x.ok} calls`);
  for (const c of rpcs) c.close();
  for (const v of vs) v.child.disconnect();
}
