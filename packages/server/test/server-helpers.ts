// Shared helpers of the server tests: a member on port 0 in a temp dir, gRPC clients (grpc-js,
// the generated etcdserverpb clients) and promisified calls. Everything is closed by t.after.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { startServer, type Member, type StartServerOptions } from '../src/embed/index.js';
import { connectEtcd, type EtcdClients } from '../../../test/kit/etcd-clients.js';
import { makePki, type Pki } from './grpc-test-kit.js';

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

/**
 * A member serving TLS on its client port with --client-cert-auth (certificates from makePki,
 * removed by t.after), and the etcdctl flags that reach it with the client certificate (CN root).
 */
export async function startCertAuthMember(t: TestContext): Promise<{ m: Member & { dataDir: string }; pki: Pki; etcdctlTls: string[] }> {
  const pki = makePki();
  t.after(() => rm(pki.dir, { recursive: true, force: true }));
  const m = await startMember(t, {
    listenClientUrls: ['https://127.0.0.1:0'],
    certFile: join(pki.dir, 'server.crt'),
    keyFile: join(pki.dir, 'server.key'),
    trustedCaFile: join(pki.dir, 'ca.crt'),
    clientCertAuth: true,
  });
  const ep = new URL(m.clientUrls[0]).host;
  const etcdctlTls = ['--endpoints', ep, '--cacert', join(pki.dir, 'ca.crt'), '--cert', join(pki.dir, 'client.crt'), '--key', join(pki.dir, 'client.key'), '--dial-timeout=10s', '--command-timeout=30s'];
  return { m, pki, etcdctlTls };
}

export { connectEtcd as connect, type EtcdClients as Clients };

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
