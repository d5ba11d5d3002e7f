// SIGTERM with clients attached: etcd 3.4.23 exits at once even with watch streams open (gRPC
// and gateway), and its clients see the streams end. tsetcd must do the same: open streams do
// not hold the shutdown, the gateway stream ends with etcd's "transport is closing" chunk, and
// the process still dies by SIGTERM after a clean close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { startEtcd } from './differential/harness.js';
import { startTsetcd, tempDir } from './kit/tsetcd-process.js';

/** Well under the 1 s close grace tsetcd used to wait for open streams; etcd takes ~10 ms. */
const promptExitMs = 700;

interface OpenStreams {
  /** gRPC code the Watch stream ended with */
  grpcEnd: Promise<number>;
  /** the gateway watch response body after its first (created) line */
  gatewayTail: Promise<string>;
  close(): void;
}

async function openStreams(endpoint: string): Promise<OpenStreams> {
  const client = new etcdserverpb.WatchClient(endpoint, credentials.createInsecure());
  const stream = client.watch();
  const grpcEnd = new Promise<number>((resolve) => {
    stream.on('error', (e: ServiceError) => resolve(e.code));
    stream.on('end', () => resolve(0));
  });
  const created = new Promise<void>((resolve) => stream.once('data', () => resolve()));
  stream.write(etcdserverpb.WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: etcdserverpb.WatchCreateRequest.fromPartial({ key: Buffer.from('a') }) } }));
  await created;

  const req = http.request(`http://${endpoint}/v3/watch`, { method: 'POST', agent: false });
  let firstLine: () => void;
  const gotFirstLine = new Promise<void>((r) => (firstLine = r));
  const gatewayTail = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.includes('\n')) firstLine();
      });
      const done = () => resolve(body.slice(body.indexOf('\n') + 1));
      res.on('end', done);
      res.on('aborted', done);
      res.on('error', done);
    });
    req.on('error', reject);
  });
  req.end(JSON.stringify({ create_request: { key: Buffer.from('a').toString('base64') } }));
  await gotFirstLine!;
  return { grpcEnd, gatewayTail, close: () => client.close() };
}

test('SIGTERM with a gRPC watch and a gateway watch open: prompt exit, streams end as on etcd 3.4.23', async (t) => {
  const etcd = await startEtcd(t);
  const onEtcd = await openStreams(etcd.client);
  let started = Date.now();
  await etcd.stop();
  const etcdMs = Date.now() - started;
  const etcdSeen = { grpc: await onEtcd.grpcEnd, gateway: await onEtcd.gatewayTail };
  onEtcd.close();

  const ts = await startTsetcd(t, await tempDir(t));
  const onTs = await openStreams(ts.endpoint);
  started = Date.now();
  ts.child.kill('SIGTERM');
  const exit = await ts.exited;
  const tsMs = Date.now() - started;
  const tsSeen = { grpc: await onTs.grpcEnd, gateway: await onTs.gatewayTail };
  onTs.close();

  assert.ok(etcdMs < promptExitMs, `etcd took ${etcdMs} ms`);
  assert.equal(exit.signal, 'SIGTERM');
  assert.ok(tsMs < promptExitMs, `tsetcd took ${tsMs} ms to exit (etcd ${etcdMs} ms)`);
  assert.ok(ts.logs.some((l) => l.includes('"stopped serving"')), 'the member closed cleanly');
  assert.deepEqual(tsSeen, etcdSeen);
  assert.equal(tsSeen.gateway, '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}');
});
