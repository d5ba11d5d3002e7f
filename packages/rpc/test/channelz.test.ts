// grpc-js's channelz bookkeeping is off on RpcClient channels and RpcServer servers unless
// asked for: nothing of ours shows in grpc-js's channelz registry by default, and
// channelOptions / grpcOptions { 'grpc.enable_channelz': 1 } bring it back (with call counts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { RpcClient, RpcServer, unary } from '../src/index.js';
import { GreeterService, GreeterClient } from '../../../examples/greeter/gen/hello.js';

const silent = pino({ level: 'silent' });
const handlers = grpc.getChannelzHandlers();
type Page<K extends string> = Record<K, Array<{ ref: { name: string }; data: { calls_started: string | number } }>>;
const ask = <K extends string>(fn: (call: unknown, cb: (e: unknown, v: Page<K>) => void) => void, request: object) =>
  new Promise<Page<K>>((resolve, reject) => fn({ request }, (e, v) => (e ? reject(e) : resolve(v))));
const channels = async () => (await ask<'channel'>(handlers.GetTopChannels as never, { start_channel_id: 0, max_results: 1000 })).channel;
const servers = async () => (await ask<'server'>(handlers.GetServers as never, { start_server_id: 0, max_results: 1000 })).server;

async function run(t: { after: (fn: () => unknown) => void }, channelz: boolean) {
  const extra = channelz ? { 'grpc.enable_channelz': 1 } : undefined;
  const server = new RpcServer({ Name: 'z', ListenOn: '127.0.0.1:0', CpuThreshold: 0 }, { logger: silent, metricsRegistry: new PromRegistry(), grpcOptions: extra });
  server.addService(GreeterService, { sayHello: (call, cb) => cb(null, { message: `hi ${call.request.name}` }) });
  const { port } = await server.start();
  t.after(() => server.stop());
  const target = `direct:///127.0.0.1:${port}`;
  const client = await RpcClient.create({ Endpoints: [`127.0.0.1:${port}`] }, { logger: silent, metricsRegistry: new PromRegistry(), channelOptions: extra });
  t.after(() => client.close());
  const g = client.service(GreeterClient);
  for (let i = 0; i < 3; i++) assert.equal((await unary(g.sayHello.bind(g), { name: 'x' })).message, 'hi x');
  return { target, port };
}

test('channelz: off by default on RpcClient and RpcServer, on when asked for', async (t) => {
  const serversBefore = (await servers()).length;
  const off = await run(t, false);
  assert.equal((await channels()).filter((c) => c.ref.name === off.target).length, 0, 'default client channel not in channelz');
  assert.equal((await servers()).length, serversBefore, 'default server not in channelz');

  const on = await run(t, true);
  const ch = (await channels()).filter((c) => c.ref.name === on.target);
  assert.equal(ch.length, 1, 'opted-in client channel in channelz');
  assert.equal(Number(ch[0].data.calls_started), 3);
  const srv = await servers();
  assert.equal(srv.length, serversBefore + 1, 'opted-in server in channelz');
  assert.ok(Number(srv.at(-1)!.data.calls_started) >= 3, 'its calls counted');
});
