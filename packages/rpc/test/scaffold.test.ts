// `tsetcd-rpc new greeter` (goctl rpc new): the written service type-checks, `npm start` starts
// it and registers it in etcd, `npm run client` gets an answer through discovery, and SIGTERM
// deregisters it. The service is written inside the workspace so its imports resolve to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientRegistry, prefixEnd } from '../src/index.js';
import { startEtcd } from './helpers/etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'packages/rpc/bin/tsetcd-rpc.mjs');

test('tsetcd-rpc new greeter: a runnable service that registers with one command', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const base = mkdtempSync(join(root, '.tmp-rpc-new-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));

  const made = spawnSync(process.execPath, [bin, 'new', 'greeter', '--etcd', etcd.endpoint, '--listen-on', '127.0.0.1:0'], { cwd: base, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const dir = join(base, 'greeter');
  for (const f of ['greeter.proto', 'etc/greeter.yaml', 'greeter.ts', 'internal/logic/ping-logic.ts', 'internal/server/greeter-server.ts', 'internal/svc/service-context.ts', 'client/greeter-client.ts', 'gen/greeter.ts', 'package.json']) {
    assert.ok(existsSync(join(dir, f)), f);
  }
  assert.match(readFileSync(join(dir, 'greeter.proto'), 'utf8'), /service Greeter \{\n {2}rpc Ping\(Request\) returns \(Response\);/);
  assert.equal(readFileSync(join(dir, 'etc/greeter.yaml'), 'utf8'), `Name: greeter.rpc\nListenOn: 127.0.0.1:0\nEtcd:\n  Hosts:\n    - ${etcd.endpoint}\n  Key: greeter.rpc\n`);
  const again = spawnSync(process.execPath, [bin, 'new', 'greeter'], { cwd: base, encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already exists/);
  assert.match(spawnSync(process.execPath, [bin, 'new', 'Bad Name'], { cwd: base, encoding: 'utf8' }).stderr, /must be lower case letters/);

  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, `the written service type-checks: ${tsc.stdout}${tsc.stderr}`);

  // one command: npm start
  const server = spawn('npm', ['start', '--silent'], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout.on('data', (d: Buffer) => (out += d.toString()));
  server.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  t.after(() => {
    try {
      process.kill(-server.pid!, 'SIGKILL'); // whatever is left of the group (npm, sh, node)
    } catch {
      // already gone
    }
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line within 60 s: ${out}`)), 60_000);
    const check = () => {
      const m = /Starting rpc server at 127\.0\.0\.1:0 \(registered as (127\.0\.0\.1:\d+)\)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    server.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());
  const kvs = (await reg.range('greeter.rpc/', prefixEnd('greeter.rpc/'))).kvs;
  assert.deepEqual(kvs.map((kv) => kv.value), [address], 'registered under greeter.rpc/');

  const client = spawnSync('npm', ['run', 'client', '--silent', '--', 'hello'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(client.status, 0, client.stderr);
  assert.equal(client.stdout.trim().split('\n').at(-1), 'hello', 'PingLogic answers pong = ping');

  // Ctrl-C / SIGTERM: the server revokes its lease (npm may exit before its child is done)
  process.kill(-server.pid!, 'SIGTERM');
  await waitFor('the registration gone after SIGTERM', async () => (await reg.range('greeter.rpc/', prefixEnd('greeter.rpc/'))).kvs.length === 0);
  await exited;
});
