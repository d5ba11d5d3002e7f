// The workspace packages' manifests say what they need outside the workspace: every package
// that src/ or bin/ imports is a dependency (or a peer), internal versions agree, the gRPC
// runtime whose objects cross package boundaries is one shared peer, `exports`/`bin` point at
// files that exist, and the bins are Node scripts (npm makes Windows shims for those).
// test/outside-workspace.test.ts proves the same end to end from the tarballs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { repoRoot, workspacePackages } from './packed-project.js';

interface Manifest {
  name: string;
  version: string;
  files?: string[];
  scripts?: Record<string, string>;
  exports?: Record<string, string | { types: string; default: string }>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const manifests = new Map<string, Manifest>(
  workspacePackages.map((p) => [p, JSON.parse(readFileSync(join(repoRoot, 'packages', p, 'package.json'), 'utf8')) as Manifest]),
);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Bare package names a source file imports (`@scope/name` or `name`), builtins excluded. */
function importedPackages(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs = [...src.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|require(?:\.resolve)?\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specs
    .filter((s) => /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]*)?$/i.test(s)) // a package name, not prose
    .filter((s) => !builtinModules.includes(s.split('/')[0]))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

for (const [dir, m] of manifests) {
  test(`${m.name}: declares what it imports, packs dist, builds on prepack`, () => {
    const declared = new Set([...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {})]);
    for (const file of [...sourceFiles(join(repoRoot, 'packages', dir, 'src')), ...sourceFiles(join(repoRoot, 'packages', dir, 'bin'))]) {
      for (const pkg of importedPackages(file)) {
        assert.ok(declared.has(pkg) || pkg === m.name, `${file.slice(repoRoot.length + 1)} imports ${pkg}, not a dependency of ${m.name}`);
      }
    }
    assert.ok(m.files?.includes('dist'), 'files has dist');
    assert.equal(m.scripts?.prepack, 'node ../../scripts/build.mjs');
    const main = m.exports?.['.'];
    assert.ok(main && typeof main === 'object', 'exports "."');
    for (const target of [main.types, main.default]) assert.ok(existsSync(join(repoRoot, 'packages', dir, target)), `${target} exists (after the build)`);
  });
}

test('internal dependencies name the workspace versions exactly', () => {
  const versions = new Map([...manifests.values()].map((m) => [m.name, m.version]));
  for (const m of manifests.values()) {
    for (const [dep, range] of Object.entries({ ...m.dependencies, ...m.peerDependencies })) {
      if (versions.has(dep)) assert.equal(range, versions.get(dep), `${m.name} → ${dep}`);
    }
  }
});

test('@grpc/grpc-js: a peer of the libraries whose objects user code shares, one range everywhere', () => {
  const ranges = new Set<string>();
  for (const [dir, m] of manifests) {
    const range = m.dependencies?.['@grpc/grpc-js'] ?? m.peerDependencies?.['@grpc/grpc-js'];
    if (range) ranges.add(range);
    if (['proto', 'client', 'rpc'].includes(dir)) {
      assert.ok(m.peerDependencies?.['@grpc/grpc-js'], `${m.name}: @grpc/grpc-js is a peer`);
      assert.equal(m.dependencies?.['@grpc/grpc-js'], undefined, `${m.name}: @grpc/grpc-js is not also a dependency`);
    }
  }
  assert.equal(ranges.size, 1, `one @grpc/grpc-js range: ${[...ranges].join(', ')}`);
  // what rpc-gen's output imports comes with @tsetcd/rpc
  const rpc = manifests.get('rpc')!;
  assert.ok(rpc.peerDependencies?.['@bufbuild/protobuf']);
  for (const tool of ['protoc', 'ts-proto']) assert.ok(rpc.dependencies?.[tool], `@tsetcd/rpc depends on ${tool}`);
});

test('bins are Node scripts that exist', () => {
  const bins = new Map<string, string>();
  for (const [dir, m] of manifests) {
    for (const [name, target] of Object.entries(m.bin ?? {})) {
      bins.set(name, target);
      const file = join(repoRoot, 'packages', dir, target);
      assert.ok(existsSync(file), `${m.name} bin ${name}: ${target} exists`);
      assert.ok(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n'), `${name} is a Node script`);
      assert.ok(m.files?.some((f) => target.startsWith(`./${f}/`)), `${name}'s file is packed`);
    }
  }
  assert.deepEqual([...bins.keys()].filter((b) => ['tsetcd', 'tsetcdctl'].includes(b)).sort(), ['tsetcd', 'tsetcdctl']);
});
