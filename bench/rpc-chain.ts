// CPU cost per call of the server interceptor chain alone (no network): the fused built-in
// stage (tracing, recover, stats, Prometheus, breaker, shedding, timeout) around a trivial
// handler, against the handler called through an empty chain. Two forms: the stage as a
// promise interceptor (what RpcServer chains when auth or user interceptors follow it) and
// BuiltinServerStage.run with callbacks (what RpcServer runs when nothing else is chained).
//
//   node --import tsx bench/rpc-chain.ts [calls=200000] [rounds=5]
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  AdaptiveShedder,
  BreakerRegistry,
  BuiltinServerStage,
  ManualLoadProbe,
  builtinServerStage,
  chainServer,
  serverMetrics,
  type ServerCallInfo,
  type UnaryServerInterceptor,
} from '@tsetcd/rpc';

const calls = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const handler = async (info: ServerCallInfo) => ({ message: `hello ${(info.request as { name: string }).name}` });

const signal = new AbortController().signal;
function info(): ServerCallInfo {
  return {
    method: '/hello.Greeter/SayHello',
    metadata: new grpc.Metadata(),
    request: { name: 'x' },
    peer: 'ipv4:127.0.0.1:1',
    deadline: Date.now() + 10_000,
    signal,
    abort() {},
  };
}

async function measure(chain: UnaryServerInterceptor[]): Promise<number> {
  const run = chainServer(chain, handler);
  return best(run);
}

async function best(run: (i: ServerCallInfo) => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await run(info());
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / calls);
  }
  return best;
}

const probe = new ManualLoadProbe(0);
const options = {
  trace: true,
  recover: true,
  stat: true,
  metrics: serverMetrics(new Registry()),
  breakers: new BreakerRegistry(),
  shedder: new AdaptiveShedder({ probe }),
  timeoutMs: 2000,
  methodTimeoutsMs: new Map<string, number>(),
};
const full = builtinServerStage(options);
const direct = new BuiltinServerStage(options);
// the callback form around the same handler, awaited per call like the others
const callbackHandler = (i: ServerCallInfo, done: (err: unknown, value?: unknown) => void) => done(null, { message: `hello ${(i.request as { name: string }).name}` });
const viaCallbacks = (i: ServerCallInfo) => new Promise<unknown>((resolve, reject) => direct.run(i, callbackHandler, (err, value) => (err === undefined ? resolve(value) : reject(err))));
const bare = await measure([]);
const withStage = await measure([full]);
const withDirect = await best(viaCallbacks);
console.log('| chain | CPU µs/call |');
console.log('|---|---|');
console.log(`| handler only | ${bare.toFixed(2)} |`);
console.log(`| built-in stage as a promise interceptor + handler | ${withStage.toFixed(2)} |`);
console.log(`| built-in stage with callbacks (BuiltinServerStage.run) + handler | ${withDirect.toFixed(2)} |`);
console.log(`| stage cost, interceptor / callbacks | ${(withStage - bare).toFixed(2)} / ${(withDirect - bare).toFixed(2)} |`);
