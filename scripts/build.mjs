#!/usr/bin/env node
// Builds the workspace: generates TypeScript from proto/*.proto (ts-proto through the
// npm-shipped protoc), then compiles every package with the TypeScript project build.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'proto');
const genDir = join(root, 'packages/proto/src/gen');

function protoFiles(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...protoFiles(p, base));
    else if (name.endsWith('.proto')) out.push(p.slice(base.length + 1));
  }
  return out;
}

function newest(files, base) {
  let t = 0;
  for (const f of files) t = Math.max(t, statSync(join(base, f)).mtimeMs);
  return t;
}

const files = existsSync(protoDir) ? protoFiles(protoDir) : [];
const stamp = join(genDir, '.stamp');
const jsonSchema = join(genDir, 'json-schema.ts');
// the generated code is stale when a .proto file or one of the generators changed after the stamp
const generators = [join(root, 'scripts/gen-json-schema.mjs'), join(root, 'scripts/build.mjs')];
const sourcesChanged = () => Math.max(newest(files, protoDir), ...generators.map((g) => statSync(g).mtimeMs));
const stale = !existsSync(stamp) || !existsSync(jsonSchema) || sourcesChanged() > statSync(stamp).mtimeMs;
if (files.length > 0 && stale) {
  rmSync(genDir, { recursive: true, force: true });
  mkdirSync(genDir, { recursive: true });
  const plugin = join(root, 'node_modules/.bin/protoc-gen-ts_proto');
  execFileSync(join(root, 'node_modules/.bin/protoc'), [
    `--plugin=protoc-gen-ts_proto=${plugin}`,
    `--ts_proto_out=${genDir}`,
    '--ts_proto_opt=forceLong=bigint,outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,env=node,useOptionals=none,oneof=unions-value,useDate=false,outputTypeRegistry=false',
    `-I${protoDir}`,
    ...files,
  ], { stdio: 'inherit' });
  // the field table the JSON gateway decodes requests with (proto and JSON names, kinds)
  const descriptorSet = join(genDir, 'descriptors.bin');
  execFileSync(join(root, 'node_modules/.bin/protoc'), [`-I${protoDir}`, '--include_imports', `--descriptor_set_out=${descriptorSet}`, ...files], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts/gen-json-schema.mjs'), descriptorSet, jsonSchema], { stdio: 'inherit' });
  rmSync(descriptorSet);
  writeFileSync(stamp, '');
}

execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });

// the web dashboard (packages/server/ui-app): type-checked against the DOM, bundled into one
// script next to its page and styles in packages/server/dist/ui-app (served by --enable-ui and `tsetcd ui`)
const uiSrc = join(root, 'packages/server/ui-app');
const uiOut = join(root, 'packages/server/dist/ui-app');
execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(uiSrc, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
const esbuild = await import('esbuild');
mkdirSync(uiOut, { recursive: true });
await esbuild.build({
  entryPoints: [join(uiSrc, 'src/main.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outfile: join(uiOut, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css', 'favicon.svg']) copyFileSync(join(uiSrc, f), join(uiOut, f));
