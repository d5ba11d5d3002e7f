// CPU cost per call of the server interceptor chain alone (no network): the fused built-in
// stage (tracing, recover, stats, Prometheus, breaker, shedding, timeout) around a trivial
// handler, against the handler called through an empty chain.
//
//   node --import tsx bench/rpc-chain.ts [calls=200000] [rounds=5]
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  AdaptiveShedder,
  BreakerRegistry,
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
const full = builtinServerStage({
  trace: true,
  recover: true,
  stat: true,
  metrics: serverMetrics(new Registry()),
  breakers: new BreakerRegistry(),
  shedder: new AdaptiveShedder({ probe }),
  timeoutMs: 2000,
  methodTimeoutsMs: new Map(),
});
const bare = await measure([]);
const withStage = await measure([full]);
console.log('| chain | CPU µs/call |');
console.log('|---|---|');
console.log(`| handler only | ${bare.toFixed(2)} |`);
console.log(`| built-in server stage + handler | ${withStage.toFixed(2)} |`);
console.log(`| stage cost | ${(withStage - bare).toFixed(2)} |`);
