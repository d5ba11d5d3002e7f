// The real etcdctl 3.4.23 against ./bin/tsetcd (a child process): what a user types must work.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { startTsetcd, tempDir } from './kit/tsetcd-process.js';

function etcdctl(endpoint: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = execFile('etcdctl', ['--endpoints', endpoint, '--command-timeout', '5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) c.stdin!.end(input);
  });
}

async function ok(endpoint: string, args: string[], input?: string): Promise<string> {
  const r = await etcdctl(endpoint, args, input);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

test('etcdctl: put/get/del/txn/watch/lease/compaction/endpoint/member against tsetcd', async (t) => {
  const dir = await tempDir(t);
  const srv = await startTsetcd(t, dir);
  const ep = srv.endpoint;
  assert.ok(srv.logs.some((l) => l.includes('"published local member to cluster through raft"')));
  assert.ok(srv.logs.some((l) => l.includes('"ready to serve client requests"')));

  const firstRev = BigInt(JSON.parse(await ok(ep, ['put', 'foo', 'bar', '-w', 'json'])).header.revision);
  assert.equal(await ok(ep, ['put', 'foo', 'baz', '--prev-kv']), 'OK\nfoo\nbar\n');
  assert.equal(await ok(ep, ['get', 'foo']), 'foo\nbaz\n');
  assert.equal(await ok(ep, ['get', 'foo', '--print-value-only']), 'baz\n');
  await ok(ep, ['put', 'foo2', 'x']);
  await ok(ep, ['put', 'fop', 'y']);
  assert.equal(await ok(ep, ['get', 'foo', '--prefix', '--keys-only']), 'foo\n\nfoo2\n\n');
  assert.equal(await ok(ep, ['get', 'foo', 'fop', '--keys-only']), 'foo\n\nfoo2\n\n');
  assert.equal(await ok(ep, ['get', 'f', '--from-key', '--limit', '1', '--keys-only']), 'foo\n\n');
  assert.match(await ok(ep, ['get', 'foo', '--prefix', '-w', 'fields']), /"Count" : 2/);
  assert.equal(await ok(ep, ['get', 'foo', '--prefix', '--sort-by', 'KEY', '--order', 'DESCEND', '--keys-only']), 'foo2\n\nfoo\n\n');
  assert.equal(await ok(ep, ['get', 'foo', '--rev', String(firstRev)]), 'foo\nbar\n');
  const j = JSON.parse(await ok(ep, ['get', 'foo', '-w', 'json']));
  assert.equal(Buffer.from(j.kvs[0].value, 'base64').toString(), 'baz');
  assert.equal(j.kvs[0].version, 2);
  assert.equal(BigInt(j.header.revision), firstRev + 3n);
  assert.equal(BigInt(j.header.member_id).toString(16).length > 0, true);

  assert.equal(await ok(ep, ['del', 'fop', '--prev-kv']), '1\nfop\ny\n');
  assert.equal(await ok(ep, ['del', 'foo', '--prefix']), '2\n');

  const txn = await ok(ep, ['txn'], 'value("foo") = "nope"\n\nput ok yes\n\nput bad no\n\n');
  assert.equal(txn, 'FAILURE\n\nOK\n');
  assert.equal(await ok(ep, ['get', 'bad', '--print-value-only']), 'no\n');

  // watch: spawn, read lines
  // from the next revision on, so the events arrive however slowly the watch is set up
  const nextRev = BigInt(JSON.parse(await ok(ep, ['get', 'wk', '-w', 'json'])).header.revision) + 1n;
  const w = spawn('etcdctl', ['--endpoints', ep, 'watch', 'wk', '--prefix', '--rev', String(nextRev)], { env: { ...process.env, ETCDCTL_API: '3' } });
  t.after(() => void w.kill());
  let out = '';
  w.stdout.setEncoding('utf8');
  const got = new Promise<void>((resolve) => w.stdout.on('data', (d: string) => {
    out += d;
    if (out.includes('DELETE\nwk1\n')) resolve();
  }));
  await ok(ep, ['put', 'wk1', 'v1']);
  await ok(ep, ['del', 'wk1']);
  await got;
  assert.equal(out, 'PUT\nwk1\nv1\nDELETE\nwk1\n\n'.slice(0, out.length));
  w.kill();

  // leases
  const grant = await ok(ep, ['lease', 'grant', '100']);
  const m = /lease ([0-9a-f]+) granted with TTL\(100s\)/.exec(grant);
  assert.ok(m, grant);
  const id = m[1];
  await ok(ep, ['put', 'leased', 'v', '--lease', id]);
  const ttl = await ok(ep, ['lease', 'timetolive', id, '--keys']);
  assert.match(ttl, new RegExp(`lease ${id} granted with TTL\\(100s\\), remaining\\((9\\d|100)s\\), attached keys\\(\\[leased\\]\\)`));
  assert.equal(await ok(ep, ['lease', 'keep-alive', '--once', id]), `lease ${id} keepalived with TTL(100)\n`);
  assert.match(await ok(ep, ['lease', 'list']), new RegExp(`found 1 leases\\n${id}\\n`));
  assert.equal(await ok(ep, ['lease', 'revoke', id]), `lease ${id} revoked\n`);
  assert.equal(await ok(ep, ['get', 'leased']), '');
  assert.equal(await ok(ep, ['lease', 'timetolive', id]), `lease ${id} already expired\n`);

  // compaction
  const rev = JSON.parse(await ok(ep, ['get', 'x', '-w', 'json'])).header.revision as number;
  assert.equal(await ok(ep, ['compaction', String(rev - 1), '--physical']), `compacted revision ${rev - 1}\n`);
  const old = await etcdctl(ep, ['get', 'foo', '--rev', String(firstRev)]);
  assert.notEqual(old.code, 0);
  assert.match(old.stderr, /etcdserver: mvcc: required revision has been compacted/);

  // maintenance and cluster
  assert.match((await etcdctl(ep, ['endpoint', 'health'])).stderr + (await etcdctl(ep, ['endpoint', 'health'])).stdout, /is healthy: successfully committed proposal/);
  const st = JSON.parse(await ok(ep, ['endpoint', 'status', '-w', 'json']));
  assert.equal(st[0].Status.version, '3.4.23');
  assert.equal(st[0].Status.leader, st[0].Status.header.member_id);
  assert.match(await ok(ep, ['endpoint', 'status', '-w', 'table']), /3\.4\.23/);
  assert.match(await ok(ep, ['endpoint', 'hashkv']), new RegExp(`${ep}, \\d+`));
  assert.match(await ok(ep, ['defrag']), /Finished defragmenting etcd member/);
  assert.equal(await ok(ep, ['alarm', 'list']), '');
  const ml = await ok(ep, ['member', 'list']);
  assert.match(ml, new RegExp(`^8e9e05c52164694d, started, default, http://localhost:2380, http://${ep}, false\\n$`));
  const health = await fetch(`http://${ep}/health`).then((r) => r.json());
  assert.deepEqual(health, { health: 'true' });
  const ver = await fetch(`http://${ep}/version`).then((r) => r.json());
  assert.deepEqual(ver, { etcdserver: '3.4.23', etcdcluster: '3.4.0' });
  const metrics = await fetch(`http://${ep}/metrics`).then((r) => r.text());
  assert.match(metrics, /^etcd_server_has_leader 1$/m);
  assert.match(metrics, /^etcd_mvcc_db_total_size_in_bytes \d+/m);
  assert.match(metrics, /^etcd_disk_wal_fsync_duration_seconds_count [1-9]\d*/m);

  // clean stop by SIGTERM: the process dies by that signal
  srv.child.kill('SIGTERM');
  const e = await srv.exited;
  assert.equal(e.signal, 'SIGTERM');
});
