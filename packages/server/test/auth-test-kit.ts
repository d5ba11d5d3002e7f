// Shared by the auth test files: real etcd 3.4.23 on free ports (over test/kit), etcdctl runs and their
// comparable parts, grpc-js clients of the Auth/KV/Watch/Lease/Maintenance services with a token,
// and the standard auth setup (root:pw with root, role ro = READ /app/, alice:apw with ro).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { b } from './server-helpers.js';
import { cleanEnv, run as runProcess, type RunResult } from '../../../test/kit/processes.js';
import { freePort, startRealEtcd as startEtcdProcess, type RealEtcd } from '../../../test/kit/real-etcd.js';
import { connectEtcd, type EtcdClients } from '../../../test/kit/etcd-clients.js';

export { cleanEnv, freePort, type RunResult };

export function run(bin: string, args: string[], timeoutMs = 40_000): Promise<RunResult> {
  return runProcess(bin, args, { timeoutMs });
}

/** A real etcd 3.4.23 on free ports (test/kit/real-etcd.ts), killed and removed by t.after. */
export async function startRealEtcd(t: { after(fn: () => unknown): void }, extraArgs: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-auth-etcd-'));
  let etcd: RealEtcd | undefined;
  t.after(async () => {
    await etcd?.kill();
    await rm(dir, { recursive: true, force: true });
  });
  // bcrypt at its cheapest: the comparison is about behaviour, not hashing strength
  etcd = await startEtcdProcess({ dir, args: ['--bcrypt-cost', '4', ...extraArgs] });
  return etcd.endpoint;
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
  return runProcess('etcdctl', args, { stdin, timeoutMs: 40_000 });
}

// ---- raw gRPC ----

export { connectEtcd as connectAuth, type EtcdClients as AuthClients };

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
