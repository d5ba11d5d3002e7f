// ./bin/tsetcd flags checked by what they do: storage batching and file retention, pre-vote,
// the initial election tick advance, and the flags tsetcd accepts with a warning or refuses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Client } from '@tsetcd/client';
import { startTsetcd, tempDir, tsetcdBin } from './kit/tsetcd-process.js';
import { ProcessCluster } from './kit/cluster.js';
import { freePort } from './kit/real-etcd.js';
import { eventually } from './kit/wait.js';

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsetcdBin, args, { env: { ...process.env, ...env }, timeout: 60000, cwd: tmpdir() }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? `killed by ${(err as { signal?: string }).signal}`) : 0, stdout, stderr }));
  });
}

async function backendCommits(endpoint: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text();
  const m = /^etcd_disk_backend_commit_duration_seconds_count (\d+)$/m.exec(text);
  assert.ok(m, 'etcd_disk_backend_commit_duration_seconds_count in /metrics');
  return Number(m[1]);
}

async function putMany(endpoint: string, n: number, prefix = 'k'): Promise<void> {
  const c = new Client({ endpoints: [`http://${endpoint}`] });
  try {
    for (let i = 0; i < n; i++) await c.put(`${prefix}${i}`, `value-${i}`);
  } finally {
    await c.close();
  }
}

async function snapFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'member', 'snap'))).filter((f) => f.endsWith('.snap'));
}

test('--backend-batch-limit / --backend-batch-interval decide when the backend commits', async (t) => {
  // a limit of one operation: every put is its own commit (the ETCD_* form)
  const dir1 = await tempDir(t);
  process.env.ETCD_BACKEND_BATCH_LIMIT = '1';
  const p1 = startTsetcd(t, dir1, ['--backend-batch-interval', '1h']);
  delete process.env.ETCD_BACKEND_BATCH_LIMIT;
  const m1 = await p1;
  const base1 = await backendCommits(m1.endpoint);
  await putMany(m1.endpoint, 20);
  // (a commit runs on LMDB's write thread: the last one may complete just after the reply)
  await eventually('one commit per put', 10_000, async () => ((await backendCommits(m1.endpoint)) - base1 >= 20 ? true : undefined));

  // a long interval and a high limit: the puts stay in one pending batch
  const dir2 = await tempDir(t);
  const m2 = await startTsetcd(t, dir2, ['--backend-batch-interval=1h', '--backend-batch-limit=1000000']);
  const base2 = await backendCommits(m2.endpoint);
  await putMany(m2.endpoint, 20);
  assert.ok((await backendCommits(m2.endpoint)) - base2 < 5, 'puts batched');

  // a short interval commits the pending batch by itself
  const dir3 = await tempDir(t);
  const m3 = await startTsetcd(t, dir3, ['--backend-batch-interval', '50ms', '--backend-batch-limit', '1000000']);
  const base3 = await backendCommits(m3.endpoint);
  await putMany(m3.endpoint, 1);
  await eventually('a commit on the interval', 10_000, async () => ((await backendCommits(m3.endpoint)) > base3 ? true : undefined));
});

test('--max-snapshots keeps that many snapshot files; 0 keeps them all', async (t) => {
  const dir = await tempDir(t);
  const m = await startTsetcd(t, dir, ['--snapshot-count', '5', '--max-snapshots', '2']);
  await putMany(m.endpoint, 60);
  // snapshots are taken as entries apply; wait until several were written, then count
  await eventually('snapshots taken', 10_000, async () => (m.logs.filter((l) => l.includes('"saved snapshot"')).length >= 5 ? true : undefined));
  await eventually('at most 2 snapshot files', 10_000, async () => ((await snapFiles(dir)).length === 2 ? true : undefined));

  const dir0 = await tempDir(t);
  const cfg = join(dir0, 'etcd.yaml');
  await writeFile(cfg, ['name: keepall', `data-dir: ${join(dir0, 'data')}`, 'listen-client-urls: http://127.0.0.1:0', 'heartbeat-interval: 20', 'election-timeout: 200', 'snapshot-count: 5', 'max-snapshots: 0'].join('\n'));
  const m0 = await startTsetcd(t, join(dir0, 'data'), ['--config-file', cfg]);
  await putMany(m0.endpoint, 60);
  await eventually('8 snapshots kept', 10_000, async () => ((await snapFiles(join(dir0, 'data'))).length >= 8 ? true : undefined));
});

/** Spawns a lone member of a 3-member cluster whose other members never start. */
test('--pre-vote: a member cut off from its peers does not raise its term', async (t) => {
  // a published cluster (a lone unpublished member serves no client, as etcd): member 0 runs
  // with --pre-vote, the others without; then every member is cut off from the others
  const c = await ProcessCluster.create(t, { proxies: true, args: ['--heartbeat-interval', '20', '--election-timeout', '200'] });
  for (let i = 0; i < 3; i++) await c.addSpec();
  await Promise.all([0, 1, 2].map((i) => c.startMember(i, 'new', undefined, i === 0 ? ['--pre-vote'] : [])));
  await c.leader();
  const term = async (i: number): Promise<bigint | undefined> => (await c.status(i))?.term;
  const before = await Promise.all([0, 1, 2].map(term));
  assert.ok(before.every((x) => x !== undefined && x === before[0]), `one term: ${before.join(',')}`);
  for (const m of c.members) m.proxy!.isolate(true);
  // each campaigns every election timeout; without pre-vote every campaign is a new term
  await eventually('the members without pre-vote four terms on', 30_000, async () => {
    const [t1, t2] = await Promise.all([term(1), term(2)]);
    return t1 !== undefined && t2 !== undefined && t1 >= before[0]! + 4n && t2 >= before[0]! + 4n ? true : undefined;
  });
  assert.equal(await term(0), before[0], 'pre-candidates do not increase the term');
});

test('--initial-election-tick-advance: on by default, off waits a whole election timeout', async (t) => {
  // one member: advanced at once
  const dir = await tempDir(t);
  const one = await startTsetcd(t, dir);
  assert.ok(one.logs.some((l) => l.includes('"started as single-node; fast-forwarding election ticks"')));

  const electionMs = 4000;
  const args = ['--heartbeat-interval', '100', '--election-timeout', String(electionMs)];
  const on = await ProcessCluster.create(t, { args });
  for (let i = 0; i < 3; i++) await on.addSpec();
  await Promise.all([0, 1, 2].map((i) => on.startMember(i, 'new')));
  assert.ok(
    on.members.some((m) => m.logs.some((l) => l.includes('"initialized peer connections; fast-forwarding election ticks"'))),
    on.members.map((m) => m.logs.filter((l) => /tick|elected|peer became/.test(l)).join('\n')).join('\n--\n'),
  );

  const off = await ProcessCluster.create(t, { args: [...args, '--initial-election-tick-advance=false'] });
  for (let i = 0; i < 3; i++) await off.addSpec();
  const started = Date.now();
  await Promise.all([0, 1, 2].map((i) => off.startMember(i, 'new')));
  // no member may campaign before a full election timeout of its own ticks
  assert.ok(Date.now() - started >= electionMs, `leader after ${Date.now() - started}ms`);
  assert.ok(off.members.every((m) => m.logs.some((l) => l.includes('"skipping initial election tick advance"'))));
});

test('flags accepted with a warning, and v2 proxy modes refused', async (t) => {
  const dir = await tempDir(t);
  const m = await startTsetcd(t, dir, ['--enable-v2', '--log-package-levels', 'etcdserver=DEBUG', '--proxy', 'off', '--experimental-backend-bbolt-freelist-type', 'map']);
  assert.ok(!m.logs.some((l) => l.includes('--enable-v2')), '--enable-v2 is served, not warned about');
  const keys = await fetch(`http://${m.endpoint}/v2/keys/`);
  assert.equal(keys.status, 200, 'with --enable-v2 the v2 keys API answers');
  assert.match(await keys.text(), /^\{"action":"get","node":\{"dir":true\}\}\n$/);
  assert.ok(m.logs.some((l) => l === "[WARNING] Deprecated '--log-package-levels=etcdserver=DEBUG' flag is set; use '--logger=zap' flag instead"));
  assert.ok(!m.logs.some((l) => l.includes('freelist')), 'map is a valid freelist type');

  for (const mode of ['on', 'readonly']) {
    const r = await run(['--proxy', mode]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`--proxy=${mode} is not supported: tsetcd does not implement etcd's v2 proxy`));
  }
  const bad = await run(['--proxy=sometimes']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid value "sometimes" for flag -proxy: invalid value/);
  const fb = await run([], { ETCD_DISCOVERY_FALLBACK: 'retry' });
  assert.equal(fb.code, 2);
  assert.match(fb.stderr, /error verifying flags, invalid value "retry" for ETCD_DISCOVERY_FALLBACK: invalid value/);
  const wals = await run(['--max-wals=-1']);
  assert.match(wals.stderr, /invalid value "-1" for flag -max-wals/);
});

/** Opens a Watch stream and pings `n` times, 20 ms apart; resolves with the GOAWAY seen, if any. */
async function pingFlood(endpoint: string, n: number): Promise<{ goaway?: { code: number; data: string }; serverPings: number }> {
  const http2 = await import('node:http2');
  const s = http2.connect(`http://${endpoint}`);
  let goaway: { code: number; data: string } | undefined;
  let serverPings = 0;
  s.on('goaway', (code, _last, data) => (goaway = { code, data: data?.toString() ?? '' }));
  s.on('ping', () => serverPings++);
  s.on('error', () => undefined);
  const st = s.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
  st.on('error', () => undefined);
  st.resume();
  // (the stream's HEADERS frame goes out before the first PING on the same connection)
  for (let i = 0; i < n && !s.closed && !s.destroyed; i++) {
    await new Promise<void>((r) => s.ping(() => r()));
    // the rate of pings is what is under test (the server's --grpc-keepalive-min-time)
    await new Promise((r) => setTimeout(r, 20));
  }
  s.destroy();
  return { goaway, serverPings };
}

test('--grpc-keepalive-min-time: a client pinging too often is sent GOAWAY too_many_pings; --grpc-keepalive-interval pings clients', async (t) => {
  const strict = await startTsetcd(t, await tempDir(t));
  const r1 = await pingFlood(strict.endpoint, 10);
  assert.deepEqual(r1.goaway, { code: 11 /* ENHANCE_YOUR_CALM */, data: 'too_many_pings' });

  const lax = await startTsetcd(t, await tempDir(t), ['--grpc-keepalive-min-time', '1ms', '--grpc-keepalive-interval=50ms']);
  const r2 = await pingFlood(lax.endpoint, 10);
  assert.equal(r2.goaway, undefined);
  // the server pinged this client on its own every 50 ms
  assert.ok(r2.serverPings >= 1, `server pings: ${r2.serverPings}`);
});

test('--experimental-warning-apply-duration: slower applies are logged and counted', async (t) => {
  const m = await startTsetcd(t, await tempDir(t), ['--experimental-warning-apply-duration', '1ns']);
  await putMany(m.endpoint, 1, 'slow');
  const line = await eventually('the warning', 10_000, async () => m.logs.find((l) => l.includes('"apply request took too long"') && l.includes('slow0')));
  const rec = JSON.parse(line) as Record<string, string>;
  assert.equal(rec['expected-duration'], '1ns');
  assert.match(rec.request, /put:<key:"slow0" value_size:7 >/);
  const text = await (await fetch(`http://${m.endpoint}/metrics`)).text();
  assert.ok(Number(/^etcd_server_slow_apply_total (\d+)$/m.exec(text)?.[1]) >= 1);
});

test('--enable-grpc-gateway=false: no JSON API under /v3/, gRPC and /health still served', async (t) => {
  const on = await startTsetcd(t, await tempDir(t));
  const body = JSON.stringify({ key: Buffer.from('k').toString('base64'), value: Buffer.from('v').toString('base64') });
  assert.equal((await fetch(`http://${on.endpoint}/v3/kv/put`, { method: 'POST', body })).status, 200);
  const off = await startTsetcd(t, await tempDir(t), ['--enable-grpc-gateway=false']);
  const r = await fetch(`http://${off.endpoint}/v3/kv/put`, { method: 'POST', body });
  assert.equal(r.status, 404);
  assert.equal((await fetch(`http://${off.endpoint}/health`)).status, 200);
  await putMany(off.endpoint, 1);
});

test('--experimental-compaction-batch-limit: a compaction deletes (and commits) that many revisions at a time', async (t) => {
  const commitsForCompaction = async (args: string[]): Promise<number> => {
    const m = await startTsetcd(t, await tempDir(t), ['--backend-batch-interval', '1h', '--backend-batch-limit', '1000000', ...args]);
    const c = new Client({ endpoints: [`http://${m.endpoint}`] });
    try {
      let rev = 0n;
      for (let i = 0; i < 60; i++) rev = (await c.put('k', `v${i}`)).header.revision;
      const before = await backendCommits(m.endpoint);
      await c.compact(rev, { physical: true });
      return (await backendCommits(m.endpoint)) - before;
    } finally {
      await c.close();
    }
  };
  const small = await commitsForCompaction(['--experimental-compaction-batch-limit', '5']);
  const dflt = await commitsForCompaction([]);
  assert.ok(small >= 12, `commits with batches of 5: ${small}`);
  assert.ok(dflt <= 5, `commits with the default batch of 1000: ${dflt}`);
});

test('--listen-peer-urls unix://name:1 listens on a unix socket named by host:port in the cwd (etcd e2e TestEtcdUnixPeers)', async (t) => {
  const cwd = await tempDir(t);
  const client = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(tsetcdBin, ['--name', 'e1', '--data-dir', 'e1.etcd', '--listen-peer-urls', 'unix://etcd.unix:1', '--initial-advertise-peer-urls', 'unix://etcd.unix:1', '--initial-cluster', 'e1=unix://etcd.unix:1', '--listen-client-urls', client, '--advertise-client-urls', client], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => child.on('exit', r));
  t.after(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  await eventually('the member to serve', 30_000, async () => (logs.includes('"enabled capabilities for version"') ? true : undefined));
  const { statSync } = await import('node:fs');
  assert.ok(statSync(join(cwd, 'etcd.unix:1')).isSocket());
  const c = new Client({ endpoints: [client] });
  try {
    const list = await c.cluster.memberList();
    assert.deepEqual(list.members[0].peerURLs, ['unix://etcd.unix:1']);
  } finally {
    await c.close();
  }
});
