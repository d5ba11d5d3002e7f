#!/usr/bin/env node
// tsetcd-rpc: goctl's rpc commands for @tsetcd/rpc.
//   tsetcd-rpc new <name> [--etcd host:port,...] [--listen-on host:port] [--dir <parent>]
//       writes a runnable service (proto, config, server, logic, client) and generates its code;
//       then: cd <name> && npm install && npm start
//   tsetcd-rpc gen <file.proto>... [--out <dir>] [-I <include dir>]     (same as tsetcd-rpc-gen)
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const rpcGen = join(here, 'rpc-gen.mjs');
const usage = `usage:
  tsetcd-rpc new <name> [--etcd host:port,...] [--listen-on host:port] [--dir <parent dir>]
  tsetcd-rpc gen <file.proto>... [--out <dir>] [-I <include dir>]`;

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'gen') {
  const r = spawnSync(process.execPath, [rpcGen, ...rest], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else if (cmd === 'new') {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { etcd: { type: 'string' }, 'listen-on': { type: 'string' }, dir: { type: 'string' } },
    });
  } catch (e) {
    console.error(`tsetcd-rpc new: ${e.message}\n${usage}`);
    process.exit(2);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    console.error(`tsetcd-rpc new: give one service name\n${usage}`);
    process.exit(2);
  }
  const name = positionals[0];
  const { newService } = await import('../dist/scaffold/new-service.js');
  let result;
  try {
    result = newService(name, {
      dir: values.dir,
      etcdHosts: values.etcd ? values.etcd.split(',').map((h) => h.trim()).filter(Boolean) : undefined,
      listenOn: values['listen-on'],
    });
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  for (const f of result.files) console.log(`  ${join(relative(process.cwd(), result.dir) || '.', f)}`);
  const gen = spawnSync(process.execPath, [rpcGen, join(result.dir, `${name}.proto`), '--out', join(result.dir, 'gen')], { stdio: 'inherit' });
  if (gen.status !== 0) {
    console.error(`tsetcd-rpc new: the service is written, but generating its code failed; run "npm run gen" in ${result.dir} once protoc and ts-proto are installed`);
    process.exit(1);
  }
  console.log(`Done. cd ${relative(process.cwd(), result.dir) || '.'} && npm install && npm start`);
} else {
  console.error(cmd === undefined || cmd === '-h' || cmd === '--help' ? usage : `tsetcd-rpc: unknown command ${JSON.stringify(cmd)}\n${usage}`);
  process.exit(cmd === '-h' || cmd === '--help' ? 0 : 2);
}
