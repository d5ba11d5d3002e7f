// Client CPU per call of @tsetcd/rpc client variants (each middleware alone, all off, p2c vs
// pick_first) against a plain @grpc/grpc-js client, all calling one plain grpc-js server (a
// child process). The variants take turns in short slices (sliceMs) for many cycles, so
// load from other processes falls on all of them alike; totals are CPU time / calls over all
// slices, GC time from perf_hooks. The server column is the plain server's CPU per call: what
// the variant's extra metadata (traceparent, grpc-timeout) costs the far end.
//
//   node --import tsx bench/rpc-client-costs.ts [sliceMs=150] [cycles=40] [callers=64]
// VARIANTS=Trace,default keeps the variants whose names contain one of the words (and plain);
// WINDOWS_FILE=f writes the slices' hrtime windows (µs) to split a --cpu-prof profile by variant.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { RpcClient } from '@tsetcd/rpc';
import { GreeterService, GreeterClient, type GreeterServer } from '../examples/greeter/gen/hello.js';

const impl: GreeterServer = { sayHello: (call, cb) => cb(null, { message: `hello ${call.request.name}` }) };
if (process.argv[2] === '--serve') {
  const server = new grpc.Server();
  server.addService(GreeterService, impl);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  process.on('disconnect', () => server.tryShutdown(() => process.exit(0)));
  process.on('message', () => { const u = process.cpuUsage(); process.send!({ cpuUs: u.user + u.system }); });
  process.send!({ port });
} else {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
  const addr = `127.0.0.1:${port}`;
  type Call = (cb: (err: unknown) => void) => void;
  const plain = new GreeterClient(addr, grpc.credentials.createInsecure());
  const plainNoChannelz = new GreeterClient(addr, grpc.credentials.createInsecure(), { 'grpc.enable_channelz': 0 });
  const noop: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options));
  const withNoop = new GreeterClient(addr, grpc.credentials.createInsecure(), { interceptors: [noop] });
  const rpcs: RpcClient[] = [];
  const rpc = async (mw: Record<string, boolean>, extra: Record<string, unknown> = {}, channelOptions: grpc.ChannelOptions = {}) => {
    const c = await RpcClient.create({ Endpoints: [addr], Middlewares: mw, ...extra }, { logger: pino({ level: 'error' }), channelOptions });
    rpcs.push(c);
    return c.service(GreeterClient);
  };
  const off = { Trace: false, Duration: false, Prometheus: false, Breaker: false, Timeout: false };
  const bare = await rpc(off);
  const pickFirst = await rpc(off, { BalancerName: 'pick_first' });
  const full = await rpc({});
  const fullChannelz = await rpc({}, {}, { 'grpc.enable_channelz': 1 });
  const only = async (k: string) => rpc({ ...off, [k]: true });
  const md = () => { const m = new grpc.Metadata(); m.set('traceparent', `00-${'ab'.repeat(16)}-${Math.random().toString(16).slice(2, 10).padEnd(16, '0')}-01`); return m; };
  const variants: Record<string, Call> = {
    plain: (cb) => plain.sayHello({ name: 'bench' }, cb),
    'plain+deadline': (cb) => plain.sayHello({ name: 'bench' }, new grpc.Metadata(), { deadline: Date.now() + 2000 }, cb),
    'plain+traceparent': (cb) => plain.sayHello({ name: 'bench' }, md(), cb),
    // what the framework's default client adds on the wire (a deadline and a traceparent), sent by plain grpc-js
    'plain+deadline+traceparent': (cb) => plain.sayHello({ name: 'bench' }, md(), { deadline: Date.now() + 2000 }, cb),
    'plain, channelz off': (cb) => plainNoChannelz.sayHello({ name: 'bench' }, cb),
    'plain+noop interceptor': (cb) => withNoop.sayHello({ name: 'bench' }, cb),
    'rpc all off, pick_first': ((g) => (cb) => g.sayHello({ name: 'bench' }, cb))(pickFirst),
    'rpc all off (p2c)': ((g) => (cb) => g.sayHello({ name: 'bench' }, cb))(bare),
    ...Object.fromEntries(await Promise.all(['Trace', 'Prometheus', 'Breaker', 'Timeout', 'Duration'].map(async (k) => { const g = await only(k); return [`rpc only ${k}`, (cb: (e: unknown) => void) => g.sayHello({ name: 'bench' }, cb)]; }))),
    'rpc default': (cb) => full.sayHello({ name: 'bench' }, cb),
    'rpc default, channelz on': (cb) => fullChannelz.sayHello({ name: 'bench' }, cb),
  };
  const filter = process.env.VARIANTS?.split(',');
  const names = Object.keys(variants).filter((n) => !filter || filter.some((f) => n.includes(f)) || n === 'plain');
  const sliceMs = Number(process.argv[2] ?? 150);
  const cycles = Number(process.argv[3] ?? 40);
  const conc = Number(process.argv[4] ?? 64);
  const windows: Array<{ name: string; t0: number; t1: number; calls: number }> = [];
  const tot = new Map<string, { cpu: number; scpu: number; ok: number; gc: number; major: number }>(names.map((n) => [n, { cpu: 0, scpu: 0, ok: 0, gc: 0, major: 0 }]));
  const serverCpu = () => new Promise<number>((resolve) => { child.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs)); child.send('cpu'); });
  const { PerformanceObserver } = await import('node:perf_hooks');
  let gcMs = 0; let majorMs = 0;
  new PerformanceObserver((l) => { for (const e of l.getEntries()) { gcMs += e.duration; if ((e as unknown as { detail: { kind: number } }).detail.kind !== 1) majorMs += e.duration; } }).observe({ entryTypes: ['gc'] });
  const res = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = -2; r < cycles; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const n of order) {
      const call = variants[n];
      let ok = 0; let running = true;
      const one = () => new Promise<void>((resolve) => call((e) => { if (!e) ok++; resolve(); }));
      const s0 = await serverCpu();
      const g0 = gcMs; const m0 = majorMs;
      const c0 = process.cpuUsage();
      const w0 = Number(process.hrtime.bigint() / 1000n);
      const t = setTimeout(() => (running = false), sliceMs);
      await Promise.all(Array.from({ length: conc }, async () => { while (running) await one(); }));
      clearTimeout(t);
      const c = process.cpuUsage(c0);
      const s1 = await serverCpu();
      if (r < 0) continue; // warm-up cycles
      tot.get(n)!.scpu += s1 - s0;
      windows.push({ name: n, t0: w0, t1: Number(process.hrtime.bigint() / 1000n), calls: ok });
      res.get(n)!.push((c.user + c.system) / ok);
      tot.get(n)!.cpu += c.user + c.system;
      tot.get(n)!.ok += ok;
      tot.get(n)!.gc += gcMs - g0;
      tot.get(n)!.major += majorMs - m0;
    }
  }
  if (process.env.WINDOWS_FILE) (await import('node:fs')).writeFileSync(process.env.WINDOWS_FILE, JSON.stringify(windows));
  const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const base = med(res.get('plain')!);
  const tb = tot.get('plain')!.cpu / tot.get('plain')!.ok;
  for (const [n, xs] of res) {
    const t = tot.get(n)!.cpu / tot.get(n)!.ok;
    const sc = tot.get(n)!.scpu / tot.get(n)!.ok;
    const sb = tot.get('plain')!.scpu / tot.get('plain')!.ok;
    console.log(`${n.padEnd(28)} server ${sc.toFixed(1)} (${(sc - sb >= 0 ? '+' : '') + (sc - sb).toFixed(1)})  client median ${med(xs).toFixed(1).padStart(6)} (${(med(xs) - base >= 0 ? '+' : '') + (med(xs) - base).toFixed(1)})  total ${t.toFixed(1).padStart(6)} (${(t - tb >= 0 ? '+' : '') + (t - tb).toFixed(1)}) µs/call  gc ${(tot.get(n)!.gc * 1000 / tot.get(n)!.ok).toFixed(1)} (non-scavenge ${(tot.get(n)!.major * 1000 / tot.get(n)!.ok).toFixed(1)}) µs/call ${tot.get(n)!.ok} calls`);
  }
  plain.close(); plainNoChannelz.close(); withNoop.close(); for (const c of rpcs) c.close();
  child.disconnect();
}
