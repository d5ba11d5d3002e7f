// ./bin/tsetcd as a command: --version, refusals at start, --config-file, ETCD_* env, milestones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startTsetcd, tempDir, tsetcdBin } from './kit/tsetcd-process.js';

/** Runs tsetcd in a scratch directory (a start that should have been refused stays out of the repo). */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsetcdBin, args, { env: { ...process.env, ...env }, timeout: 60000, cwd: tmpdir() }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? `killed by ${(err as { signal?: string }).signal}`) : 0, stdout, stderr }));
  });
}

test('tsetcd --version and refusals', async () => {
  const v = await run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^etcd Version: 3\.4\.23\n/);
  const bad = await run(['--bogus-flag']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /flag provided but not defined: -bogus-flag/);
  const badVal = await run(['--snapshot-count', 'many']);
  assert.equal(badVal.code, 2);
  assert.match(badVal.stderr, /invalid value "many" for flag -snapshot-count/);
  const noAdv = await run(['--listen-client-urls', 'http://127.0.0.1:23999']);
  assert.equal(noAdv.code, 2);
  assert.match(noAdv.stderr, /--advertise-client-urls is required when --listen-client-urls is set explicitly/);
  const badEnv = await run([], { ETCD_HEARTBEAT_INTERVAL: 'fast' });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /error verifying flags, invalid value "fast" for ETCD_HEARTBEAT_INTERVAL: parse error/);
  const ic = await run(['--initial-cluster', 'other=http://127.0.0.1:2380']);
  assert.equal(ic.code, 2);
  assert.match(ic.stderr, /couldn't find local name "default" in the initial cluster configuration/);
  const et = await run(['--heartbeat-interval', '100', '--election-timeout', '200']);
  assert.equal(et.code, 2);
  assert.match(et.stderr, /--election-timeout\[200ms\] should be at least as 5 times as --heartbeat-interval\[100ms\]/);
});

test('tsetcd --config-file starts a member with the file\'s settings; milestones logged in order', async (t) => {
  const dir = await tempDir(t);
  const cfg = join(dir, 'conf.yaml');
  await writeFile(cfg, [`name: from-file`, `data-dir: ${join(dir, 'data')}`, 'listen-client-urls: http://127.0.0.1:0', 'heartbeat-interval: 20', 'election-timeout: 200'].join('\n'));
  const srv = await startTsetcd(t, join(dir, 'ignored'), ['--config-file', cfg]);
  const msgs = srv.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
  const i1 = msgs.indexOf('published local member to cluster through raft');
  const i2 = msgs.indexOf('ready to serve client requests');
  assert.ok(i1 >= 0 && i2 > i1, msgs.join('\n'));
  for (const l of srv.logs) {
    const rec = JSON.parse(l) as Record<string, unknown>;
    assert.equal(typeof rec.level, 'string');
    assert.match(String(rec.ts), /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof rec.caller, 'string');
  }
  const members = await fetch(`http://${srv.endpoint}/v2/members`).then((r) => r.json()) as { members: Array<{ name: string }> };
  assert.equal(members.members[0].name, 'from-file');
  srv.child.kill('SIGINT');
  assert.equal((await srv.exited).signal, 'SIGINT');
});
