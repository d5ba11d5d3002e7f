// Shared helpers of the server tests: a member on port 0 in a temp dir, gRPC clients (grpc-js,
// the generated etcdserverpb clients) and promisified calls. Everything is closed by t.after.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { startServer, type Member, type StartServerOptions } from '../src/embed/index.js';

export async function tempDir(t: TestContext, prefix = 'tsetcd-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function startMember(t: TestContext, opts: StartServerOptions = {}): Promise<Member & { dataDir: string }> {
  const dataDir = opts.dataDir ?? (await tempDir(t));
  const m = await startServer({ listenClientUrls: ['http://127.0.0.1:0'], heartbeatIntervalMs: 20, electionTimeoutMs: 200, ...opts, dataDir });
  t.after(() => m.close());
  await m.ready;
  return Object.assign(m, { dataDir });
}

export interface Clients {
  kv: InstanceType<typeof etcdserverpb.KVClient>;
  watch: InstanceType<typeof etcdserverpb.WatchClient>;
  lease: InstanceType<typeof etcdserverpb.LeaseClient>;
  maintenance: InstanceType<typeof etcdserverpb.MaintenanceClient>;
  cluster: InstanceType<typeof etcdserverpb.ClusterClient>;
}

export function connect(t: TestContext, url: string): Clients {
  const addr = new URL(url).host;
  const c = credentials.createInsecure();
  const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 };
  const clients: Clients = {
    kv: new etcdserverpb.KVClient(addr, c, opts),
    watch: new etcdserverpb.WatchClient(addr, c, opts),
    lease: new etcdserverpb.LeaseClient(addr, c, opts),
    maintenance: new etcdserverpb.MaintenanceClient(addr, c, opts),
    cluster: new etcdserverpb.ClusterClient(addr, c, opts),
  };
  t.after(() => {
    for (const cl of Object.values(clients)) (cl as Client).close();
  });
  return clients;
}

/** Promisified unary call: call(client.put.bind(client), req). */
export function call<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export function b(s: string): Buffer {
  return Buffer.from(s);
}

/** Rejects with the gRPC error so tests can check code and details. */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}
