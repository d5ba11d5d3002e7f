// When the served span follows async continuations (AsyncLocalStorage): only once something
// can read it there. A server nothing reads spans from keeps the span for the handler's
// synchronous part and its own interceptors (info.span) and never switches async context on;
// the first currentSpan() call, an RpcClient with tracing, or enableSpanPropagation() do.
// The order of the steps matters: the switch is per process and never goes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { RpcServer, currentSpan, spanPropagationEnabled, startSpan, type SpanContext } from '../src/index.js';
import { GreeterService, GreeterClient, type GreeterServer } from '../../../examples/greeter/gen/hello.js';

const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

test('served spans: async context only once something can read the span after an await', async (t) => {
  const seen: Array<{ where: string; traceId?: string; parent?: string }> = [];
  let mode: 'none' | 'sync' | 'after-await' = 'none';
  const impl: GreeterServer = {
    sayHello: (call, cb) => {
      if (mode === 'sync') {
        const s = currentSpan();
        seen.push({ where: 'sync', traceId: s?.traceId, parent: s?.parentSpanId });
      }
      void Promise.resolve().then(async () => {
        await new Promise((r) => setImmediate(r));
        if (mode === 'after-await') {
          const s = currentSpan();
          seen.push({ where: 'after-await', traceId: s?.traceId, parent: s?.parentSpanId });
        }
        cb(null, { message: 'ok' });
      });
    },
  };
  const spans: SpanContext[] = [];
  const server = new RpcServer({ Name: 'p', ListenOn: '127.0.0.1:0', CpuThreshold: 0 }, {
    logger: pino({ level: 'silent' }),
    metricsRegistry: new PromRegistry(),
    // a user interceptor sees the span explicitly, without async context
    interceptors: [
      async (info, next) => {
        spans.push(info.span!);
        return next();
      },
    ],
  });
  server.addService(GreeterService, impl);
  const { port } = await server.start();
  t.after(() => server.stop());
  // and one with nothing chained after the built-in stage (it runs with callbacks)
  const direct = new RpcServer({ Name: 'd', ListenOn: '127.0.0.1:0', CpuThreshold: 0 }, { logger: pino({ level: 'silent' }), metricsRegistry: new PromRegistry() });
  direct.addService(GreeterService, { sayHello: (_call, cb) => cb(null, { message: 'direct' }) } satisfies GreeterServer);
  const directPort = (await direct.start()).port;
  t.after(() => direct.stop());
  const client = new GreeterClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const directClient = new GreeterClient(`127.0.0.1:${directPort}`, grpc.credentials.createInsecure());
  t.after(() => directClient.close());
  const md = new grpc.Metadata();
  md.set('traceparent', incoming);
  const directReply = await new Promise<string>((resolve, reject) => directClient.sayHello({ name: 'x' }, md, (err, r) => (err ? reject(err) : resolve(r!.message))));
  assert.equal(directReply, 'direct');
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('traceparent', incoming);
      client.sayHello({ name: 'x' }, md, (err) => (err ? reject(err) : resolve()));
    });

  await call();
  await call();
  assert.equal(spanPropagationEnabled(), false, 'nothing read a span: no async context');
  assert.equal(spans.length, 2);
  assert.equal(spans[0].traceId, '0af7651916cd43dd8448eb211c80319c', 'the span continues the incoming trace');
  assert.equal(spans[0].parentSpanId, 'b7ad6b7169203331');
  assert.match(spans[0].spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(spans[0].spanId, spans[1].spanId, 'a new span per call');

  mode = 'sync';
  await call();
  assert.deepEqual(seen, [{ where: 'sync', traceId: '0af7651916cd43dd8448eb211c80319c', parent: 'b7ad6b7169203331' }], "the handler's synchronous part sees its span");
  assert.equal(spanPropagationEnabled(), true, 'the first currentSpan() switches async context on');

  mode = 'after-await';
  await call();
  assert.deepEqual(seen[1], { where: 'after-await', traceId: '0af7651916cd43dd8448eb211c80319c', parent: 'b7ad6b7169203331' }, 'from then on continuations see it too');
});

test('served spans: ids are drawn on first read and then fixed; an invalid traceparent starts a new trace', () => {
  const child = startSpan(incoming);
  const id = child.spanId;
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(child.spanId, id);
  assert.deepEqual(JSON.parse(JSON.stringify(child)), { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: id, parentSpanId: 'b7ad6b7169203331', flags: '01' });
  for (const bad of [undefined, '', 'garbage', '00-00000000000000000000000000000000-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']) {
    const root = startSpan(bad);
    assert.match(root.traceId, /^[0-9a-f]{32}$/, String(bad));
    assert.notEqual(root.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(root.parentSpanId, undefined);
    assert.equal(root.flags, '01');
    assert.equal(root.traceId, root.traceId, 'stable');
  }
  const ids = new Set(Array.from({ length: 2000 }, () => startSpan(undefined).traceId));
  assert.equal(ids.size, 2000, 'root trace ids differ');
});

test('an RpcClient with tracing switches async context on as it is made (its calls read the span being served)', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const script = `
    import { RpcClient, spanPropagationEnabled } from '../src/index.js';
    const before = spanPropagationEnabled();
    const off = await RpcClient.create({ Endpoints: ['127.0.0.1:1'], NonBlock: true, Middlewares: { Trace: false } });
    const afterOff = spanPropagationEnabled();
    const on = await RpcClient.create({ Endpoints: ['127.0.0.1:1'], NonBlock: true });
    console.log(JSON.stringify([before, afterOff, spanPropagationEnabled()]));
    off.close(); on.close();`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: here, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), [false, false, true]);
});
