// Shared by the auth test files: real etcd 3.4.23 on free ports, etcdctl runs and their
// comparable parts, grpc-js clients of the Auth/KV/Watch/Lease/Maintenance services with a token,
// and the standard auth setup (root:pw with root, role ro = READ /app/, alice:apw with ro).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials, type CallOptions, type ServiceError, type Client } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { b } from './server-helpers.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_') && !k.startsWith('ETCD_')) env[k] = v;
  return { ...env, ETCDCTL_API: '3' };
}

export function run(bin: string, args: string[], timeoutMs = 40_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code });
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A real etcd 3.4.23 on free ports, killed and removed by t.after. */
export async function startRealEtcd(t: { after(fn: () => unknown): void }, extraArgs: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-auth-etcd-'));
  const [cport, pport] = [await freePort(), await freePort()];
  const proc: ChildProcess = spawn(
    'etcd',
    [
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', `http://127.0.0.1:${cport}`,
      '--advertise-client-urls', `http://127.0.0.1:${cport}`,
      '--listen-peer-urls', `http://127.0.0.1:${pport}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${pport}`,
      '--initial-cluster', `default=http://127.0.0.1:${pport}`,
      '--log-level', 'error',
      // bcrypt at its cheapest: the comparison is about behaviour, not hashing strength
      '--bcrypt-cost', '4',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() },
  );
  proc.stderr!.resume();
  t.after(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((res) => proc.once('exit', res));
      proc.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
  const endpoint = `127.0.0.1:${cport}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await run('etcdctl', ['--endpoints', endpoint, '--command-timeout=500ms', 'endpoint', 'health']);
    if (r.code === 0) return endpoint;
    if (Date.now() > deadline) throw new Error(`etcd did not start: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** What must match between etcd and tsetcd: stdout (JSON headers dropped), the exit code, the Error line. */
export function comparable(r: RunResult): { stdout: string; error: string; code: number | null } {
  let stdout = r.stdout;
  if (stdout.startsWith('{')) {
    const j = JSON.parse(stdout) as Record<string, unknown>;
    delete j.header;
    stdout = JSON.stringify(j);
  }
  const error = r.stderr.split('\n').filter((l) => l.startsWith('Error:')).join('\n');
  return { stdout, error, code: r.code };
}

export function ctl(endpoint: string, args: string[]): Promise<RunResult> {
  // bcrypt on a loaded machine is slow in real etcd: generous timeouts
  return run('etcdctl', ['--endpoints', endpoint, '--dial-timeout=10s', '--command-timeout=30s', ...args]);
}


export function runWithStdin(args: string[], stdin: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', args, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

// ---- raw gRPC ----

export interface AuthClients {
  kv: InstanceType<typeof etcdserverpb.KVClient>;
  watch: InstanceType<typeof etcdserverpb.WatchClient>;
  lease: InstanceType<typeof etcdserverpb.LeaseClient>;
  auth: InstanceType<typeof etcdserverpb.AuthClient>;
  maintenance: InstanceType<typeof etcdserverpb.MaintenanceClient>;
}

export function connectAuth(t: { after(fn: () => unknown): void }, url: string): AuthClients {
  const addr = new URL(url).host;
  const c = credentials.createInsecure();
  const clients: AuthClients = {
    kv: new etcdserverpb.KVClient(addr, c),
    watch: new etcdserverpb.WatchClient(addr, c),
    lease: new etcdserverpb.LeaseClient(addr, c),
    auth: new etcdserverpb.AuthClient(addr, c),
    maintenance: new etcdserverpb.MaintenanceClient(addr, c),
  };
  t.after(() => {
    for (const cl of Object.values(clients)) (cl as Client).close();
  });
  return clients;
}

/** The generated clients' fullest overload (a bound method resolves to it). */
export type Unary<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: (err: ServiceError | null, res: Res) => void) => unknown;

export function callAs<Req, Res>(fn: Unary<Req, Res>, req: Req, token?: string): Promise<Res> {
  const md = new Metadata();
  if (token !== undefined) md.set('token', token);
  return new Promise((resolve, reject) => {
    fn(req, md, {}, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function rejectsWith(p: Promise<unknown>, code: number, details: string): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.details, details);
    assert.equal(e.code, code);
    return true;
  });
}

/** root:pw (root role), role ro = READ on prefix /app/, user alice:apw with ro; auth enabled. */
export async function setupAuth(c: AuthClients): Promise<void> {
  const a = c.auth;
  await callAs(a.userAdd.bind(a), etcdserverpb.AuthUserAddRequest.fromPartial({ name: 'root', password: 'pw' }));
  await callAs(a.userGrantRole.bind(a), { user: 'root', role: 'root' });
  await callAs(a.roleAdd.bind(a), { name: 'ro' });
  await callAs(a.roleGrantPermission.bind(a), { name: 'ro', perm: { permType: 0, key: b('/app/'), rangeEnd: b('/app0') } });
  await callAs(a.userAdd.bind(a), etcdserverpb.AuthUserAddRequest.fromPartial({ name: 'alice', password: 'apw' }));
  await callAs(a.userGrantRole.bind(a), { user: 'alice', role: 'ro' });
  await callAs(a.authEnable.bind(a), {});
}

export async function login(c: AuthClients, name: string, password: string): Promise<string> {
  const r = await callAs(c.auth.authenticate.bind(c.auth), { name, password });
  return r.token;
}
