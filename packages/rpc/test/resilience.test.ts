// Timeouts, breaker, shedding, p2c and auth through real grpc-js servers and clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { RpcServer, RpcClient, unary, ManualLoadProbe, ProcessLoadProbe, StatusError, MemoryTokenStore, currentSpan, rateLimitInterceptor, PeriodLimiter, MemoryLimitStore, type RpcServerOptions, type RpcClientOptions } from '../src/index.js';
import { GreeterService, GreeterClient, type GreeterServer } from '../../../examples/greeter/gen/hello.js';
import { waitFor } from '../../../test/kit/wait.js';

const silent = pino({ level: 'silent' });

interface Behaviour {
  delayMs: number;
  fail: boolean;
  calls: number;
}

async function greeter(t: { after: (fn: () => unknown) => void }, conf: Record<string, unknown> = {}, opts: RpcServerOptions = {}) {
  const b: Behaviour = { delayMs: 0, fail: false, calls: 0 };
  const server = new RpcServer({ Name: 'g', ListenOn: '127.0.0.1:0', CpuThreshold: 0, ...conf }, { logger: silent, metricsRegistry: new PromRegistry(), ...opts });
  const impl: GreeterServer = {
    sayHello(call, cb) {
      b.calls++;
      const reply = () => (b.fail ? cb(new StatusError(grpc.status.INTERNAL, 'boom')) : cb(null, { message: `hi ${call.request.name} ${server.port}` }));
      // a slow server (timeouts, p2c, shedding): its latency is the behaviour under test
      if (b.delayMs > 0) setTimeout(reply, b.delayMs);
      else reply();
    },
  };
  server.addService(GreeterService, impl);
  const { port } = await server.start();
  t.after(() => server.stop());
  return { server, port, b };
}

async function client(t: { after: (fn: () => unknown) => void }, ports: number[], conf: Record<string, unknown> = {}, opts: RpcClientOptions = {}) {
  const c = await RpcClient.create({ Endpoints: ports.map((p) => `127.0.0.1:${p}`), ...conf }, { logger: silent, metricsRegistry: new PromRegistry(), ...opts });
  t.after(() => c.close());
  const g = c.service(GreeterClient);
  return { c, g, call: (name = 'x', options: Partial<grpc.CallOptions> & { metadata?: grpc.Metadata } = {}) => unary(g.sayHello.bind(g), { name }, options) };
}

const codeOf = (p: Promise<unknown>) => p.then(() => 0, (e: grpc.ServiceError) => e.code);

test('timeouts: server default and per-method, client default and per-call', async (t) => {
  const s1 = await greeter(t, { Timeout: 100 });
  s1.b.delayMs = 300;
  const { call } = await client(t, [s1.port], { Timeout: 5000, Middlewares: { Breaker: false } });
  const err = await call().catch((e: grpc.ServiceError) => e);
  assert.equal((err as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
  assert.equal((err as grpc.ServiceError).details, 'context deadline exceeded');

  const s2 = await greeter(t, { Timeout: 100, MethodTimeouts: [{ FullMethod: '/hello.Greeter/SayHello', Timeout: '1s' }] });
  s2.b.delayMs = 300;
  const c2 = await client(t, [s2.port], { Middlewares: { Breaker: false } });
  assert.match((await c2.call()).message, /^hi x/, 'per-method timeout overrides the default');

  const s3 = await greeter(t, { Timeout: 0 });
  s3.b.delayMs = 400;
  const c3 = await client(t, [s3.port], { Timeout: 100, Middlewares: { Breaker: false } });
  const start = Date.now();
  assert.equal(await codeOf(c3.call()), grpc.status.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - start < 350, 'client default timeout');
  assert.match((await c3.call('y', { deadline: Date.now() + 2000 })).message, /^hi y/, 'per-call deadline overrides');
});

async function breakerScenario(call: () => Promise<unknown>, b: Behaviour) {
  b.fail = true;
  const codes = new Map<number, number>();
  let open = '';
  for (let i = 0; i < 200; i++) {
    const res = await call().catch((e: grpc.ServiceError) => e);
    const code = (res as grpc.ServiceError).code ?? 0;
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (code === grpc.status.UNAVAILABLE) open = (res as grpc.ServiceError).details;
    // the breaker decides over a time window: spread the failures over it as real traffic is
    await sleep(2);
  }
  assert.equal(open, 'circuit breaker is open');
  assert.ok(codes.get(grpc.status.UNAVAILABLE)! > 50, `rejections: ${[...codes]}`);
  assert.ok(b.calls < 200 - 50, `rejected calls never reach the handler (${b.calls})`);
  // server healthy again: forced passes find out and the breaker closes (once the failures
  // have aged out of its window: a bounded poll, paced over that window)
  b.fail = false;
  let streak = 0;
  await waitFor('the breaker to close (50 calls in a row succeed)', async () => {
    streak = (await codeOf(call())) === 0 ? streak + 1 : 0;
    return streak >= 50;
  }, 15_000, 10);
}

test('breaker: client side and server side (per method) open under failures and recover', { timeout: 40_000 }, async (t) => {
  // the two scenarios run side by side to keep the test short (recovery takes seconds)
  const clientSide = await greeter(t, { Middlewares: { Breaker: false } });
  const c1 = await client(t, [clientSide.port], { Timeout: 1000 });
  const serverSide = await greeter(t);
  const c2 = await client(t, [serverSide.port], { Timeout: 1000, Middlewares: { Breaker: false } });
  await Promise.all([breakerScenario(c1.call, clientSide.b), breakerScenario(c2.call, serverSide.b)]);
});

test('shedding: RESOURCE_EXHAUSTED "service overloaded" under load, stops after cool-off', { timeout: 30_000 }, async (t) => {
  const probe = new ManualLoadProbe(0);
  const s = await greeter(t, { CpuThreshold: 900, Timeout: 0 }, { loadProbe: probe });
  s.b.delayMs = 100;
  const { call } = await client(t, [s.port], { Timeout: 0, Middlewares: { Breaker: false } });
  // run `loops` callers for ms, or until the first failure when untilShed
  const run = async (ms: number, untilShed = false) => {
    const results: string[] = [];
    let running = true;
    const end = Date.now() + ms;
    const loops = Array.from({ length: 80 }, async () => {
      while (running && Date.now() < end) {
        const r = await call().then(() => 'ok', (e: grpc.ServiceError) => `${e.code} ${e.details}`);
        results.push(r);
        if (untilShed && r !== 'ok') running = false;
      }
    });
    await Promise.all(loops);
    return results;
  };
  assert.ok((await run(600)).every((r) => r === 'ok'), 'no shedding without overload');
  probe.millicpu = 980;
  const shed = (await run(8000, true)).filter((r) => r !== 'ok');
  assert.ok(shed.length > 0, 'some calls shed');
  assert.equal(shed[0], `${grpc.status.RESOURCE_EXHAUSTED} service overloaded`);
  assert.ok(s.server.shedder!.dropped > 0);
  probe.millicpu = 100;
  // the cool-off (1 s after the last drop, go-zero's coolOffDuration) is what is under test:
  // wait it out, then nothing may be shed
  await sleep(1100);
  assert.ok((await run(600)).every((r) => r === 'ok'), 'cool-off over: all admitted');
});

test('p2c: the faster of two servers gets more traffic', { timeout: 30_000 }, async (t) => {
  const fast = await greeter(t);
  const slow = await greeter(t);
  slow.b.delayMs = 100;
  const { call } = await client(t, [fast.port, slow.port]);
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) await call();
  });
  // a period of load, not a number of calls: p2c weighs the latencies it measures over time
  // and force-picks a server left alone for a second
  await sleep(2500);
  running = false;
  await Promise.all(loops);
  assert.ok(fast.b.calls > 2 * slow.b.calls, `fast ${fast.b.calls} vs slow ${slow.b.calls}`);
  assert.ok(slow.b.calls > 0, 'slow server still probed');
});

test('auth, tracing, metrics, health', async (t) => {
  const metrics = new PromRegistry();
  let seenTrace = '';
  const s = await greeter(t, { Auth: true }, {
    tokenStore: new MemoryTokenStore({ app1: 's3cret' }),
    metricsRegistry: metrics,
    interceptors: [
      async (info, next) => {
        seenTrace = `${currentSpan()?.traceId}/${currentSpan()?.parentSpanId}`;
        return next();
      },
    ],
  });
  const anon = await client(t, [s.port], { Middlewares: { Breaker: false } });
  const err = await anon.call().catch((e: grpc.ServiceError) => e);
  assert.equal((err as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
  assert.equal((err as grpc.ServiceError).details, 'missing app');
  const bad = await client(t, [s.port], { App: 'app1', Token: 'nope', Middlewares: { Breaker: false } });
  assert.equal(((await bad.call().catch((e) => e)) as grpc.ServiceError).details, 'invalid token');
  const good = await client(t, [s.port], { App: 'app1', Token: 's3cret' });
  const md = new grpc.Metadata();
  md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.match((await good.call('a', { metadata: md })).message, /^hi a/);
  assert.match(seenTrace, /^0af7651916cd43dd8448eb211c80319c\/[0-9a-f]{16}$/, 'server continues the trace');
  const text = await metrics.metrics();
  assert.match(text, /rpc_server_requests_code_total\{method="\/hello.Greeter\/SayHello",code="16"\} 2/);
  assert.match(text, /rpc_server_requests_code_total\{method="\/hello.Greeter\/SayHello",code="0"\} 1/);
  assert.match(text, /rpc_server_requests_duration_ms_bucket\{le="5",method="\/hello.Greeter\/SayHello"\}/);
  // health: SERVING, then NOT_SERVING seen by a Watch during shutdown
  const { HealthClient } = await import('../src/index.js');
  const hc = new HealthClient(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client;
  t.after(() => hc.close());
  const statuses: number[] = [];
  const stream = hc.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (r: { service: string }) => Buffer.from(r.service ? [10, r.service.length, ...Buffer.from(r.service)] : []), (b: Buffer) => (b.length ? b[1] : 0), { service: 'hello.Greeter' });
  stream.on('data', (st: number) => statuses.push(st));
  stream.on('error', () => undefined);
  await waitFor('the watch to report SERVING', () => statuses.length >= 1);
  await s.server.stop();
  await waitFor('the watch to report NOT_SERVING', () => statuses.length >= 2);
  assert.deepEqual(statuses, [1, 2], 'SERVING then NOT_SERVING');
});

test('rate limit interceptor: period limiter per app refuses over quota with RESOURCE_EXHAUSTED', async (t) => {
  const limiter = new PeriodLimiter({ periodSec: 60, quota: 3, keyPrefix: 'greet:', store: new MemoryLimitStore() });
  const s = await greeter(t, {}, { interceptors: [rateLimitInterceptor((info) => limiter.allow(String(info.metadata.get('app')[0] ?? 'anon')))] });
  const { call } = await client(t, [s.port], { Middlewares: { Breaker: false } });
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) codes.push(await codeOf(call()));
  assert.deepEqual(codes, [0, 0, 0, grpc.status.RESOURCE_EXHAUSTED, grpc.status.RESOURCE_EXHAUSTED]);
  assert.equal(s.b.calls, 3);
});

test('consistent_hash balancer: one key always reaches the same server, keys spread', async (t) => {
  const servers = [await greeter(t), await greeter(t), await greeter(t)];
  const { call, c } = await client(t, servers.map((x) => x.port), { BalancerName: 'consistent_hash' });
  // let every subchannel connect so no key falls back to p2c: each server answered a call
  await waitFor('every server to answer', async () => {
    await call();
    return servers.every((x) => x.b.calls > 0);
  }, 10_000, 0);
  assert.equal(c.connectivityState, grpc.connectivityState.READY);
  const owner = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 30; k++) {
      const md = new grpc.Metadata();
      md.set('x-hash-key', `user-${k}`);
      const server = (await call('h', { metadata: md })).message.split(' ')[2];
      if (round === 0) owner.set(`user-${k}`, server);
      else assert.equal(server, owner.get(`user-${k}`), `user-${k} moved`);
    }
  }
  assert.ok(new Set(owner.values()).size >= 2, 'keys spread over servers');
});

test('breakerPerServer: a failing server is cut off while its healthy peer keeps serving', { timeout: 20_000 }, async (t) => {
  const good = await greeter(t, { Middlewares: { Breaker: false } });
  const bad = await greeter(t, { Middlewares: { Breaker: false } });
  bad.b.fail = true;
  const { call } = await client(t, [good.port, bad.port], { Middlewares: { Breaker: false } }, { balancer: { breakerPerServer: true } });
  const codes = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const code = await codeOf(call());
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  assert.ok(codes.get(0)! > 200, `healthy server keeps answering: ${[...codes]}`);
  assert.ok(bad.b.calls < 100, `failing server mostly avoided (${bad.b.calls} calls)`);
});

test('process load probe: a blocked event loop counts as overload', async () => {
  const probe = new ProcessLoadProbe();
  try {
    assert.equal(probe.overloaded(900), false);
    const end = Date.now() + 1200;
    while (Date.now() < end) {
      const stop = Date.now() + 200;
      while (Date.now() < stop) {
        // busy: the loop cannot run timers
      }
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(probe.overloaded(900), true, `cpu ${probe.cpuMillicpu()}`);
  } finally {
    probe.close();
  }
});

test('recover: a throwing handler becomes INTERNAL with its message; async handlers and StatusError pass through', async (t) => {
  const server = new RpcServer({ Name: 'r', ListenOn: '127.0.0.1:0', CpuThreshold: 0 }, { logger: silent, metricsRegistry: new PromRegistry() });
  server.addService(GreeterService, {
    sayHello: async (call: grpc.ServerUnaryCall<{ name: string }, { message: string }>) => {
      if (call.request.name === 'throw') throw new Error('kaboom');
      if (call.request.name === 'sync') (undefined as unknown as { x: number }).x;
      if (call.request.name === 'status') throw new StatusError(grpc.status.NOT_FOUND, 'no such greeting');
      return { message: `async ${call.request.name}` };
    },
  } as unknown as GreeterServer);
  const { port } = await server.start();
  t.after(() => server.stop());
  const { call } = await client(t, [port], { Middlewares: { Breaker: false } });
  assert.equal((await call('ok')).message, 'async ok');
  const e1 = (await call('throw').catch((e) => e)) as grpc.ServiceError;
  assert.equal(e1.code, grpc.status.INTERNAL);
  assert.equal(e1.details, 'kaboom');
  const e2 = (await call('sync').catch((e) => e)) as grpc.ServiceError;
  assert.equal(e2.code, grpc.status.INTERNAL);
  const e3 = (await call('status').catch((e) => e)) as grpc.ServiceError;
  assert.equal(e3.code, grpc.status.NOT_FOUND);
  assert.equal(e3.details, 'no such greeting');
});
