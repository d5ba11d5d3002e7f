#!/usr/bin/env node
// Generates typed TypeScript for .proto files with ts-proto (grpc-js services, bigint
// 64-bit ints, Buffer bytes, .js import suffixes): the messages plus a <Service>Service
// definition and <Service>Client class to use with RpcServer.addService / RpcClient.service.
// protoc (the npm `protoc` package, which ships the binaries) and ts-proto are dependencies of
// @tsetcd/rpc. The output imports @grpc/grpc-js and @bufbuild/protobuf, the peer dependencies
// of @tsetcd/rpc (npm ≥ 7 installs them next to it, so the user's code and @tsetcd/rpc share them).
// Usage: tsetcd-rpc-gen <file.proto>... [--out <dir>] [-I <include dir>]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, relative, sep } from 'node:path';
import { createRequire } from 'node:module';

const usage = 'usage: tsetcd-rpc-gen <file.proto>... [--out <dir>] [-I <include dir>]';
const args = process.argv.slice(2);
const files = [];
const includes = [];
let out;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' || args[i] === '-o') out = args[++i];
  else if (args[i] === '-I' || args[i] === '--proto_path') includes.push(args[++i]);
  else if (args[i] === '-h' || args[i] === '--help') {
    console.log(usage);
    process.exit(0);
  } else if (args[i].startsWith('-')) {
    console.error(`rpc-gen: unknown flag ${args[i]} (${usage})`);
    process.exit(2);
  } else files.push(args[i]);
}
if (files.length === 0 || out === '' || includes.includes(undefined)) {
  console.error(`rpc-gen: no .proto files given (${usage})`);
  process.exit(2);
}
out = resolve(out ?? join(dirname(files[0]), 'gen'));
if (includes.length === 0) includes.push(dirname(resolve(files[0])));

// protoc and the ts-proto plugin, found from this package (not from the current project)
const require = createRequire(import.meta.url);
const protoc = require.resolve('protoc/protoc.cjs');
const plugin = join(dirname(require.resolve('ts-proto/package.json')), 'protoc-gen-ts_proto');
// protoc runs the plugin as an executable: a script with a shebang on POSIX; on Windows it needs
// a .cmd (npm's .bin shims are not reliably next to this package), so write one that runs node.
let shimDir;
let pluginExe = plugin;
if (process.platform === 'win32') {
  shimDir = mkdtempSync(join(tmpdir(), 'rpc-gen-'));
  pluginExe = join(shimDir, 'protoc-gen-ts_proto.cmd');
  writeFileSync(pluginExe, `@"${process.execPath}" "${plugin}" %*\r\n`);
}

const incAbs = includes.map((i) => resolve(i));
const rel = [];
for (const f of files) {
  const abs = resolve(f);
  const base = incAbs.find((i) => abs.startsWith(i + sep));
  if (!base) {
    console.error(`rpc-gen: ${f} is not under an include dir (${incAbs.join(', ')})`);
    process.exit(2);
  }
  rel.push(relative(base, abs).split(sep).join('/'));
}
mkdirSync(out, { recursive: true });
const r = spawnSync(process.execPath, [
  protoc,
  `--plugin=protoc-gen-ts_proto=${pluginExe}`,
  `--ts_proto_out=${out}`,
  '--ts_proto_opt=outputServices=grpc-js,forceLong=bigint,esModuleInterop=true,importSuffix=.js,env=node,useOptionals=none,outputTypeRegistry=false',
  ...incAbs.map((i) => `-I${i}`),
  ...rel,
], { stdio: 'inherit' });
if (shimDir) rmSync(shimDir, { recursive: true, force: true });
if (r.error) throw r.error;
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`rpc-gen: wrote ${rel.map((r) => join(relative(process.cwd(), out), r.replace(/\.proto$/, '.ts'))).join(', ')}`);
