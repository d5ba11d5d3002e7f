// /metrics side by side with etcd 3.4.23: the go-grpc-prometheus families
// (grpc_server_started_total, grpc_server_handled_total, grpc_server_msg_received_total,
// grpc_server_msg_sent_total) after the same etcdctl session on both, line for line: every
// service etcd registers listed from the start at 0 for every code, errors counted with their
// code, a watch and a lock's keepalive ended by their client, v3lock counted once used, the
// gRPC health service, and the JSON gateway's calls (a range, a refused put, a watch the HTTP
// client leaves).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { healthpb } from '@tsetcd/proto';
import { startEtcd, startTsetcd } from './harness.js';
import { waitFor } from '../kit/wait.js';

const outputWaitMs = 10_000;

function etcdctl(endpoint: string, args: string[]): Promise<number | null> {
  const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: '3' };
  for (const k of Object.keys(env)) if (k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API') delete env[k];
  return new Promise((resolve) => {
    const p = spawn('etcdctl', ['--endpoints', endpoint, ...args], { env, stdio: 'ignore' });
    p.on('exit', (code) => resolve(code));
  });
}

/** Runs a long-lived etcdctl until its output contains `until`, then ends it with SIGTERM. */
function etcdctlUntil(endpoint: string, args: string[], until: string, meanwhile: () => Promise<unknown> = async () => undefined): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: '3' };
  return new Promise((resolve, reject) => {
    const p = spawn('etcdctl', ['--endpoints', endpoint, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`etcdctl ${args.join(' ')}: no "${until}" in ${outputWaitMs} ms:\n${out}`));
    }, outputWaitMs);
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(until)) p.kill('SIGTERM');
    });
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    void meanwhile();
  });
}

/** Waits (bounded) until the server's /metrics shows a line matching `line`. */
function metricsShow(endpoint: string, what: string, line: RegExp): Promise<void> {
  return waitFor(what, async () => line.test(await (await fetch(`http://${endpoint}/metrics`)).text()), outputWaitMs);
}

function healthCheck(endpoint: string, service: string): Promise<string> {
  const c = new healthpb.HealthClient(endpoint, credentials.createInsecure());
  return new Promise((resolve) =>
    c.check({ service }, (err: ServiceError | null, r?: healthpb.HealthCheckResponse) => {
      c.close();
      resolve(err ? `${err.code} ${err.details}` : `status ${r!.status}`);
    }),
  );
}

async function session(endpoint: string): Promise<string[]> {
  await etcdctl(endpoint, ['put', 'a', '1']);
  await etcdctl(endpoint, ['get', 'a']);
  await etcdctl(endpoint, ['get', '']); // InvalidArgument: key is not provided
  await etcdctl(endpoint, ['del', 'nothing']);
  await etcdctl(endpoint, ['lease', 'grant', '60']);
  await etcdctl(endpoint, ['member', 'list']);
  await etcdctl(endpoint, ['endpoint', 'status']);
  // a watch that sees one event, then its client goes away
  await etcdctlUntil(endpoint, ['watch', 'w'], 'PUT', async () => {
    await metricsShow(endpoint, 'a watcher on the server', /^etcd_debugging_mvcc_watcher_total [1-9]/m);
    await etcdctl(endpoint, ['put', 'w', '1']);
  });
  // a lock (v3lock, a lease and its keepalive stream) held, then its client goes away
  await etcdctlUntil(endpoint, ['lock', 'l'], 'l/');
  // the JSON gateway: etcd's is a gRPC client of its own server, so its calls count too
  await (await fetch(`http://${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'YQ==' }) })).text();
  await (await fetch(`http://${endpoint}/v3/kv/put`, { method: 'POST', body: '{}' })).text(); // InvalidArgument
  const ac = new AbortController();
  const watch = await fetch(`http://${endpoint}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key: 'YQ==' } }), signal: ac.signal });
  await watch.body!.getReader().read(); // the created response
  ac.abort();
  await metricsShow(endpoint, 'no watch stream open on the server', /^etcd_debugging_mvcc_watch_stream_total 0$/m);
  const health = [await healthCheck(endpoint, ''), await healthCheck(endpoint, 'nope')];
  const res = await fetch(`http://${endpoint}/metrics`);
  const lines = (await res.text()).split('\n').filter((l) => l.startsWith('grpc_server_'));
  return [...health, ...lines.sort()];
}

test('grpc_server_* metrics equal etcd 3.4.23 line for line after the same etcdctl session', async (t) => {
  const [etcd, ts] = await Promise.all([startEtcd(t), startTsetcd(t)]);
  const [fromEtcd, fromTsetcd] = await Promise.all([session(etcd.client), session(ts.client)]);
  assert.ok(fromEtcd.length > 800, `etcd lists ${fromEtcd.length} lines`);
  assert.deepEqual(fromTsetcd, fromEtcd);
});
