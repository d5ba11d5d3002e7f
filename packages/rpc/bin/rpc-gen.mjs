#!/usr/bin/env node
// Generates typed TypeScript for .proto files with ts-proto (grpc-js services, bigint
// 64-bit ints, Buffer bytes, .js import suffixes): the messages plus a <Service>Service
// definition and <Service>Client class to use with RpcServer.addService / RpcClient.service.
// Usage: node packages/rpc/bin/rpc-gen.mjs <file.proto>... [--out <dir>] [-I <include dir>]
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const files = [];
const includes = [];
let out;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' || args[i] === '-o') out = args[++i];
  else if (args[i] === '-I' || args[i] === '--proto_path') includes.push(args[++i]);
  else if (args[i] === '-h' || args[i] === '--help') {
    console.log('usage: rpc-gen <file.proto>... [--out <dir>] [-I <include dir>]');
    process.exit(0);
  } else files.push(args[i]);
}
if (files.length === 0) {
  console.error('rpc-gen: no .proto files given (usage: rpc-gen <file.proto>... [--out <dir>])');
  process.exit(2);
}
out = resolve(out ?? join(dirname(files[0]), 'gen'));
if (includes.length === 0) includes.push(dirname(resolve(files[0])));

// find protoc and the ts-proto plugin from this package's node_modules chain
const require = createRequire(import.meta.url);
const protocPkg = dirname(require.resolve('protoc/package.json'));
const protoc = join(protocPkg, '..', '.bin', 'protoc');
const plugin = join(dirname(require.resolve('ts-proto/package.json')), 'protoc-gen-ts_proto');
mkdirSync(out, { recursive: true });
const incAbs = includes.map((i) => resolve(i));
const rel = files.map((f) => {
  const abs = resolve(f);
  const base = incAbs.find((i) => abs.startsWith(i + '/'));
  if (!base) throw new Error(`rpc-gen: ${f} is not under an include dir (${incAbs.join(', ')})`);
  return relative(base, abs);
});
execFileSync(existsSync(protoc) ? protoc : 'protoc', [
  `--plugin=protoc-gen-ts_proto=${plugin}`,
  `--ts_proto_out=${out}`,
  '--ts_proto_opt=outputServices=grpc-js,forceLong=bigint,esModuleInterop=true,importSuffix=.js,env=node,useOptionals=none,outputTypeRegistry=false',
  ...incAbs.map((i) => `-I${i}`),
  ...rel,
], { stdio: 'inherit' });
console.log(`rpc-gen: wrote ${rel.map((r) => join(relative(process.cwd(), out), r.replace(/\.proto$/, '.ts'))).join(', ')}`);
