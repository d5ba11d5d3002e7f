#!/usr/bin/env node
// Runs every *.test.ts under packages/*/test, test/ and examples/ with node's test runner (through tsx).
// Node 20 neither discovers .ts test files nor expands globs, so the list is built here.
//
// Each test file runs in its own `node --test` process, two at a time (the machine has 2
// cores), and its output is printed whole when it ends, so files never interleave. A file
// that fails is run once more, alone, after the rest: on a loaded 2-core machine a few
// timing-sensitive end-to-end tests (real etcd, real processes, real fsync) can miss a
// deadline. Both attempts are printed, the file is named as "passed on retry", and a file
// that fails twice fails the run. The last line is "tests: N passed, M failed".
//
// VARIANTS re-run some files with extra environment, e.g. the client suite against tsetcd.
//
// Usage: node scripts/run-tests.mjs [path-filter ...]     env: TEST_CONCURRENCY (2), TEST_RETRY (1)
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Extra runs of matching files with extra environment: { label, match(file) => boolean, env }. */
const VARIANTS = [
  // The client suite against tsetcd too (its helper starts ./bin/tsetcd instead of etcd).
  { label: 'tsetcd', match: (f) => f.startsWith('packages/client/test/'), env: { ETCD_TARGET: 'tsetcd' } },
  // The gRPC transport suites on node:http2 too (the client port's own HTTP/2 layer is the default;
  // node:http2 still serves gRPC on connections that start with plain HTTP, and the grpc proxy).
  {
    label: 'node-http2',
    match: (f) => ['grpc-server', 'grpc-client-port', 'grpc-chaos'].some((n) => f === `packages/server/test/${n}.test.ts`),
    env: { TSETCD_LEAN_HTTP2: '0' },
  },
  // go-zero style registration, discovery and failover (kill -9, restart, outage) on tsetcd.
  {
    label: 'tsetcd',
    match: (f) => ['registration', 'client-registry', 'cluster', 'go-zero-parity'].some((n) => f === `packages/rpc/test/${n}.test.ts`),
    env: { TSETCD_RPC_ETCD_BIN: join(root, 'bin/tsetcd') },
  },
];

const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 2));
const retries = Math.max(0, Number(process.env.TEST_RETRY ?? 1));
const fileTimeoutMs = 15 * 60 * 1000;

function walk(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const dirs = [join(root, 'test'), join(root, 'examples')];
for (const pkg of readdirSync(join(root, 'packages'))) dirs.push(join(root, 'packages', pkg, 'test'));
const filters = process.argv.slice(2);
let files = dirs.flatMap(walk).map((f) => relative(root, f)).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) process.exit(build.status ?? 1);

/** @type {{ file: string, label: string, env: Record<string,string> }[]} */
const jobs = files.map((file) => ({ file, label: file, env: {} }));
for (const v of VARIANTS) {
  for (const file of files) if (v.match(file)) jobs.push({ file, label: `${file} [${v.label}]`, env: v.env });
}

function runJob(job) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', job.file], {
      cwd: root,
      env: { ...process.env, ...job.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), fileTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString('utf8');
      const count = (name) => {
        const m = output.match(new RegExp(`^# ${name} (\\d+)$`, 'm'));
        return m ? Number(m[1]) : 0;
      };
      const pass = count('pass');
      const fail = count('fail') + (code !== 0 && count('fail') === 0 ? 1 : 0);
      resolve({ job, code, signal, output, pass, fail, ms: Date.now() - started });
    });
  });
}

async function runAll(list, width) {
  const results = [];
  let next = 0;
  async function worker() {
    while (next < list.length) {
      const job = list[next++];
      const r = await runJob(job);
      process.stdout.write(`\n### ${r.job.label} (${(r.ms / 1000).toFixed(1)} s, ${r.code === 0 ? 'ok' : `FAILED code=${r.code}${r.signal ? ` signal=${r.signal}` : ''}`})\n`);
      process.stdout.write(r.output);
      results.push(r);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, list.length) }, worker));
  return results;
}

const t0 = Date.now();
const first = await runAll(jobs, concurrency);
const final = new Map(first.map((r) => [r.job.label, r]));
const retried = [];
let toRetry = first.filter((r) => r.code !== 0).map((r) => r.job);
for (let attempt = 1; attempt <= retries && toRetry.length > 0; attempt++) {
  process.stdout.write(`\n### retrying ${toRetry.length} failed file(s) alone: ${toRetry.map((j) => j.label).join(', ')}\n`);
  const again = await runAll(toRetry, 1);
  for (const r of again) {
    final.set(r.job.label, r);
    if (r.code === 0) retried.push(r.job.label);
  }
  toRetry = again.filter((r) => r.code !== 0).map((r) => r.job);
}

let pass = 0;
let fail = 0;
const failedFiles = [];
for (const r of final.values()) {
  pass += r.pass;
  fail += r.fail;
  if (r.code !== 0) failedFiles.push(r.job.label);
}
process.stdout.write(`\n${jobs.length} test files in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
if (retried.length > 0) process.stdout.write(`passed on retry (timing-sensitive under load): ${retried.join(', ')}\n`);
if (failedFiles.length > 0) process.stdout.write(`FAILED files: ${failedFiles.join(', ')}\n`);
process.stdout.write(`tests: ${pass} passed, ${fail} failed\n`);
process.exit(failedFiles.length > 0 ? 1 : 0);
