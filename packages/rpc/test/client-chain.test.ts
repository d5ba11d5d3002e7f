// The client's built-in chain (run as a call invocation transformer): metrics for unary and
// streaming calls (also with call-level interceptors), the default deadline without touching
// the caller's options, trace propagation from a handler's span into its outgoing calls,
// user interceptors after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { RpcClient, RpcServer, StatusError, unary } from '../src/index.js';
import { GreeterService, GreeterClient, type GreeterServer } from '../../../examples/greeter/gen/hello.js';

const silent = pino({ level: 'silent' });
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const def = {
  echo: { path: '/t.T/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  count: { path: '/t.T/Count', requestStream: false, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
} satisfies grpc.ServiceDefinition;
const TClient = grpc.makeGenericClientConstructor(def, 't.T');
type TStub = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

async function plainServer(t: { after: (fn: () => unknown) => void }, impl: grpc.UntypedServiceImplementation): Promise<number> {
  const server = new grpc.Server();
  server.addService(def, impl);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.after(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  return port;
}

test('client chain: metrics for unary and server-streaming calls, default deadline, caller options untouched', async (t) => {
  const deadlines: number[] = [];
  const port = await plainServer(t, {
    echo: (call: grpc.ServerUnaryCall<{ fail?: boolean }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const d = call.getDeadline();
      deadlines.push(d instanceof Date ? d.getTime() : d);
      if (call.request.fail) cb({ code: grpc.status.NOT_FOUND, details: 'nope' });
      else cb(null, call.request);
    },
    count: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      if (call.request.n < 0) call.emit('error', { code: grpc.status.OUT_OF_RANGE, details: 'negative' });
      else call.end();
    },
  });
  const metrics = new PromRegistry();
  const rpc = await RpcClient.create({ Endpoints: [`127.0.0.1:${port}`], Timeout: 3000 }, { logger: silent, metricsRegistry: metrics });
  t.after(() => rpc.close());
  const c = rpc.service(TClient as unknown as new (...a: ConstructorParameters<typeof grpc.Client>) => TStub);

  const options: grpc.CallOptions = {};
  const before = Date.now();
  assert.deepEqual(await unary(c.echo.bind(c) as never, { a: 1 }, options), { a: 1 });
  assert.deepEqual(options, {}, "the caller's options object is not written into");
  assert.ok(deadlines[0] >= before + 2900 && deadlines[0] <= Date.now() + 3000, `default deadline reaches the server: ${deadlines[0] - before} ms`);
  const own = Date.now() + 60_000;
  await unary(c.echo.bind(c) as never, { a: 2 }, { deadline: own });
  assert.ok(Math.abs(deadlines[1] - own) < 1000, `the call's own deadline wins (off by ${deadlines[1] - own} ms)`);
  // call-level interceptors replace the client's in grpc-js; the built-in chain still runs
  let callLevel = 0;
  const callInterceptor: grpc.Interceptor = (o, next) => {
    callLevel++;
    return new grpc.InterceptingCall(next(o));
  };
  await unary(c.echo.bind(c) as never, { a: 3 }, { interceptors: [callInterceptor] } as grpc.CallOptions);
  assert.equal(callLevel, 1);
  assert.ok(deadlines[2] <= Date.now() + 3000, 'default deadline with call-level interceptors too');
  const err = (await unary(c.echo.bind(c) as never, { fail: true }).catch((e: unknown) => e)) as grpc.ServiceError;
  assert.equal(err.code, grpc.status.NOT_FOUND);

  const stream = (n: number) =>
    new Promise<{ items: number; code: number }>((resolve) => {
      let items = 0;
      const s = c.count({ n }) as grpc.ClientReadableStream<unknown>;
      s.on('data', () => items++);
      s.on('error', () => undefined);
      s.on('status', (st: grpc.StatusObject) => resolve({ items, code: st.code }));
    });
  assert.deepEqual(await stream(3), { items: 3, code: 0 });
  assert.deepEqual(await stream(-1), { items: 0, code: grpc.status.OUT_OF_RANGE });

  const text = await metrics.metrics();
  assert.match(text, /rpc_client_requests_code_total\{method="\/t.T\/Echo",code="0"\} 3/);
  assert.match(text, /rpc_client_requests_code_total\{method="\/t.T\/Echo",code="5"\} 1/);
  assert.match(text, /rpc_client_requests_code_total\{method="\/t.T\/Count",code="0"\} 1/);
  assert.match(text, /rpc_client_requests_code_total\{method="\/t.T\/Count",code="11"\} 1/);
  assert.match(text, /rpc_client_requests_duration_ms_count\{method="\/t.T\/Echo"\} 4/);
});

test('client chain: a call made while serving continues the served trace; user interceptors still run', async (t) => {
  const seen: string[] = [];
  const downstream = await plainServer(t, {
    echo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      seen.push(String(call.metadata.get('traceparent')[0] ?? ''));
      cb(null, call.request);
    },
    count: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  let intercepted = 0;
  const down = await RpcClient.create({ Endpoints: [`127.0.0.1:${downstream}`] }, {
    logger: silent,
    metricsRegistry: new PromRegistry(),
    interceptors: [
      (options, next) => {
        intercepted++;
        return new grpc.InterceptingCall(next(options));
      },
    ],
  });
  t.after(() => down.close());
  const dc = down.service(TClient as unknown as new (...a: ConstructorParameters<typeof grpc.Client>) => TStub);
  // a callback-style and an async handler, both calling downstream after an await
  const impl: GreeterServer = {
    sayHello: (call, cb) => {
      void Promise.resolve()
        .then(() => unary(dc.echo.bind(dc) as never, { via: 'callback' }))
        .then(() => cb(null, { message: 'ok' }), (e: Error) => cb(new StatusError(grpc.status.INTERNAL, e.message)));
    },
  };
  const server = new RpcServer({ Name: 'up', ListenOn: '127.0.0.1:0', CpuThreshold: 0 }, { logger: silent, metricsRegistry: new PromRegistry() });
  server.addService(GreeterService, impl);
  const { port } = await server.start();
  t.after(() => server.stop());
  const up = await RpcClient.create({ Endpoints: [`127.0.0.1:${port}`] }, { logger: silent, metricsRegistry: new PromRegistry() });
  t.after(() => up.close());
  const g = up.service(GreeterClient);
  const md = new grpc.Metadata();
  md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal((await unary(g.sayHello.bind(g), { name: 'a' }, { metadata: md })).message, 'ok');
  await unary(g.sayHello.bind(g), { name: 'b' });
  assert.equal(seen.length, 2);
  const [traceA, parentA] = seen[0].split('-').slice(1, 3);
  assert.equal(traceA, '0af7651916cd43dd8448eb211c80319c', 'downstream call carries the incoming trace id');
  assert.notEqual(parentA, 'b7ad6b7169203331', "downstream's parent is the server's own span, not the caller's");
  assert.match(seen[1], /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.notEqual(seen[1].split('-')[1], traceA, 'a call without a trace starts a new one');
  assert.equal(intercepted, 2, 'user interceptors run for every call');
});
