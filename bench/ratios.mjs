#!/usr/bin/env node
// Turns two run-bench.sh summary tables (etcd, tsetcd) into a markdown section with ratios,
// or (with --write FILE SECTION_MD TITLE) replaces that "## TITLE" section of FILE.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const args = process.argv.slice(2);
if (args[0] === '--write') {
  const [, file, sectionFile, title] = args;
  const body = readFileSync(sectionFile, 'utf8').trim();
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const heading = `## ${title}`;
  const start = text.indexOf(heading);
  let next;
  if (start >= 0) {
    const rest = text.indexOf('\n## ', start + heading.length);
    next = text.slice(0, start) + `${heading}\n\n${body}\n` + (rest >= 0 ? text.slice(rest) : '');
  } else {
    next = `${text.trimEnd()}\n\n${heading}\n\n${body}\n`;
  }
  writeFileSync(file, next);
  process.exit(0);
}

function parse(file) {
  const rows = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7 || f[0] === 'case' || line.startsWith('#')) continue;
    rows.set(f[0], { rps: +f[1], avg: +f[2], p50: +f[3], p99: +f[4], errs: +f[5], cpu: f[6] === 'NA' ? NaN : +f[6] });
  }
  // peak server RSS per case from results.tsv beside the summary
  const tsv = file.replace(/summary\.txt$/, 'results.tsv');
  if (existsSync(tsv)) {
    for (const line of readFileSync(tsv, 'utf8').split('\n').slice(1)) {
      const f = line.split('\t');
      const r = rows.get(f[0]);
      if (r && f[8] && f[8] !== '0') r.rssMiB = Math.max(r.rssMiB ?? 0, +f[8] / 1024);
    }
  }
  return rows;
}
const [etcdFile, tsFile, members] = args;
const e = parse(etcdFile);
const t = parse(tsFile);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'NA');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(2) + '×' : 'NA');
const lines = [];
lines.push(`Measured ${new Date().toISOString().slice(0, 16)}Z on this 2-core machine, ${members} member(s), same Go load tool`);
lines.push('(../shared/bench, etcd benchmark request pattern), median of reps. Ratios are tsetcd / etcd: throughput');
lines.push('above 1× is better, latency and CPU below 1× are better.');
lines.push('');
lines.push('| case | etcd req/s | tsetcd req/s | ratio | etcd p50 ms | tsetcd p50 ms | etcd p99 ms | tsetcd p99 ms | p99 ratio | etcd CPU µs/req | tsetcd CPU µs/req | etcd RSS MiB | tsetcd RSS MiB | errors (etcd/tsetcd) |');
lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [name, a] of e) {
  const b = t.get(name);
  if (!b) continue;
  lines.push(`| ${name} | ${fmt(a.rps)} | ${fmt(b.rps)} | ${ratio(b.rps, a.rps)} | ${fmt(a.p50, 2)} | ${fmt(b.p50, 2)} | ${fmt(a.p99, 2)} | ${fmt(b.p99, 2)} | ${ratio(b.p99, a.p99)} | ${fmt(a.cpu)} | ${fmt(b.cpu)} | ${fmt(a.rssMiB)} | ${fmt(b.rssMiB)} | ${a.errs}/${b.errs} |`);
}
process.stdout.write(lines.join('\n') + '\n');
