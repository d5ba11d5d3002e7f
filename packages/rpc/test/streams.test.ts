// Streaming methods go through RpcServer too: tracing context, app/token auth and
// thrown errors turned into statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { RpcServer, MemoryTokenStore, currentSpan } from '../src/index.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const def = {
  count: {
    path: '/test.Counter/Count',
    requestStream: false,
    responseStream: true,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
  sum: {
    path: '/test.Counter/Sum',
    requestStream: true,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;
const CounterClient = grpc.makeGenericClientConstructor(def, 'test.Counter');

test('streams: server and client streaming through RpcServer, auth and errors', async (t) => {
  let traced = '';
  const server = new RpcServer({ Name: 's', ListenOn: '127.0.0.1:0', CpuThreshold: 0, Auth: true }, { logger: pino({ level: 'silent' }), metricsRegistry: new PromRegistry(), tokenStore: new MemoryTokenStore({ a: 't' }) });
  server.addService(def, {
    count: (call: grpc.ServerWritableStream<{ n: number }, { i: number }>) => {
      traced = currentSpan()?.traceId ?? '';
      if (call.request.n < 0) throw new Error('negative count');
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      call.end();
    },
    sum: (call: grpc.ServerReadableStream<{ v: number }, { sum: number }>, cb: grpc.sendUnaryData<{ sum: number }>) => {
      let sum = 0;
      call.on('data', (m: { v: number }) => (sum += m.v));
      call.on('end', () => cb(null, { sum }));
    },
  });
  const { port } = await server.start();
  t.after(() => server.stop());
  const client = new CounterClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  t.after(() => client.close());
  const md = () => {
    const m = new grpc.Metadata();
    m.set('app', 'a');
    m.set('token', 't');
    m.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    return m;
  };
  const collect = (stream: grpc.ClientReadableStream<{ i: number }>) =>
    new Promise<{ items: number[]; err?: grpc.ServiceError }>((resolve) => {
      const items: number[] = [];
      stream.on('data', (m: { i: number }) => items.push(m.i));
      stream.on('error', (err: grpc.ServiceError) => resolve({ items, err }));
      stream.on('end', () => resolve({ items }));
    });

  const ok = await collect(client.count({ n: 3 }, md()) as grpc.ClientReadableStream<{ i: number }>);
  assert.deepEqual(ok.items, [0, 1, 2]);
  assert.equal(ok.err, undefined);
  assert.equal(traced, '4bf92f3577b34da6a3ce929d0e0e4736');

  const bad = await collect(client.count({ n: -1 }, md()) as grpc.ClientReadableStream<{ i: number }>);
  assert.equal(bad.err?.code, grpc.status.INTERNAL);
  assert.equal(bad.err?.details, 'negative count');

  const anon = await collect(client.count({ n: 1 }) as grpc.ClientReadableStream<{ i: number }>);
  assert.equal(anon.err?.code, grpc.status.UNAUTHENTICATED);
  assert.deepEqual(anon.items, []);

  const sum = await new Promise<{ sum: number }>((resolve, reject) => {
    const w = client.sum(md(), (err: grpc.ServiceError | null, res: { sum: number }) => (err ? reject(err) : resolve(res))) as grpc.ClientWritableStream<{ v: number }>;
    for (const v of [1, 2, 3]) w.write({ v });
    w.end();
  });
  assert.equal(sum.sum, 6);
  const denied = await new Promise<grpc.ServiceError>((resolve) => {
    const w = client.sum((err: grpc.ServiceError | null) => resolve(err!)) as grpc.ClientWritableStream<{ v: number }>;
    w.end();
  });
  assert.equal(denied.code, grpc.status.UNAUTHENTICATED);
});
