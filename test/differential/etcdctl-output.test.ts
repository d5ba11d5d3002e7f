// Differential test of what the real etcdctl 3.4.23 prints: the same ~45 commands against a
// real etcd 3.4.23 and against tsetcd; stdout, stderr and exit code must match byte for byte
// once IDs the servers choose (member, cluster and lease IDs), ports, timings and the client's
// own log noise (timestamps, connection UUIDs) are replaced by placeholders.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startEtcd, startTsetcd, type Endpoints } from './harness.js';

const commandTimeoutMs = 15_000;
/**
 * A deadline for a watch command: the watches below start before the compacted revision, so
 * both servers cancel them and etcdctl exits by itself (code 5) at once; SIGINT only ends one
 * that would listen on.
 */
const watchListenMs = 1500;

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs etcdctl; killAfterMs ends a command that never exits by itself (watch) with SIGINT. */
function etcdctl(endpoint: string, args: string[], stdin = '', killAfterMs?: number): Promise<Output> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ETCDCTL_API: '3' };
    const p = spawn('etcdctl', ['--endpoints', endpoint, '--dial-timeout', '3s', '--command-timeout', '5s', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), commandTimeoutMs);
    const stopper = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGINT'), killAfterMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (stopper) clearTimeout(stopper);
      resolve({ code, stdout, stderr });
    });
    // etcdctl may exit without reading its input
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
  });
}

/** What differs legitimately between the two servers, learnt as the commands run. */
class Ids {
  private readonly decimal = new Map<string, string>();
  private readonly hexByLabel = new Map<string, string>();
  private readonly ports: number[];
  constructor(ep: Endpoints) {
    this.ports = [ep.clientPort, ep.peerPort];
  }
  /** Registers an ID (member/cluster/lease) under a label, in decimal and hex. */
  add(id: bigint, label: string): void {
    this.hexByLabel.set(label, id.toString(16));
    this.decimal.set(id.toString(10), label);
    this.decimal.set(id.toString(16), label);
    // etcdctl prints a lease ID's hex with %016x in some places
    this.decimal.set(id.toString(16).padStart(16, '0'), label);
  }
  /** The hex form of the ID registered under label (as etcdctl takes lease IDs). */
  hex(label: string): string {
    const h = this.hexByLabel.get(label);
    assert.ok(h !== undefined, `no ID learnt for ${label}`);
    return h;
  }
  normalise(s: string): string {
    let out = s;
    for (const p of this.ports) out = out.split(`:${p}`).join(':<port>');
    // longest first so a hex ID is not replaced inside a longer decimal one
    for (const [v, l] of [...this.decimal].sort((a, b) => b[0].length - a[0].length)) out = out.replace(new RegExp(`(?<![0-9a-f])${v}(?![0-9a-f])`, 'g'), l);
    return out
      .replace(/"ts":"[^"]*"/g, '"ts":"<ts>"')
      .replace(/client-[0-9a-f-]{36}/g, 'client-<uuid>')
      .replace(/took = [0-9.]+[µmn]?s/g, 'took = <duration>')
      // a lease's remaining TTL counts down with the wall clock
      .replace(/"ttl":(\d+)/g, '"ttl":<ttl>')
      .replace(/remaining\(\d+s\)/g, 'remaining(<ttl>)')
      // a lease's keys come in Go map order
      .replace(/"keys":\[([^\]]*)\]/g, (_m, ks: string) => `"keys":[${ks.split(',').sort().join(',')}]`)
      .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, ks: string) => `attached keys([${ks.split(' ').sort().join(' ')}])`)
      // bbolt and lmdb files differ in size
      .replace(/("DBSize(?:InUse)?" : )\d+/g, '$1<size>')
      // table columns are as wide as their widest cell, and IDs print as %x (15 or 16 digits)
      .replace(/^\+[-+]+\+$/gm, (l) => l.replace(/-+/g, '-'))
      .replace(/^\|.*\|$/gm, (l) => l.split('|').map(tableCell).join('|'));
  }
}

/** A table cell without its padding, tagged with its alignment (left, right, centred/full). */
function tableCell(c: string): string {
  if (c === '') return c;
  const lead = c.length - c.trimStart().length;
  const trail = c.length - c.trimEnd().length;
  const align = lead === trail || (lead !== 1 && trail !== 1) ? 'C' : lead === 1 ? 'L' : 'R';
  return `${align}:${c.trim()}`;
}

test('differential: the real etcdctl prints the same for etcd 3.4.23 and tsetcd', async (t) => {
  const [etcd, ts] = await Promise.all([startEtcd(t), startTsetcd(t)]);
  const sides = [
    { name: 'etcd', ep: etcd, ids: new Ids(etcd) },
    { name: 'tsetcd', ep: ts, ids: new Ids(ts) },
  ];
  // member and cluster IDs, from each server itself
  for (const s of sides) {
    const r = await etcdctl(s.ep.client, ['member', 'list', '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.replace(/:(\d{16,})/g, ':"$1"')) as { header: { cluster_id: string; member_id: string } };
    s.ids.add(BigInt(j.header.cluster_id), '<cluster>');
    s.ids.add(BigInt(j.header.member_id), '<member>');
  }

  // Each command: args, optional stdin, and an optional hook learning a server-chosen ID.
  // unordered: etcd prints in Go map order, so lines are compared sorted
  type Cmd = { args: string[] | ((ids: Ids) => string[]); stdin?: string; learn?: (out: string, ids: Ids) => void; unordered?: boolean; killAfterMs?: number };
  const learnLease = (label: string) => (out: string, ids: Ids) => {
    const m = /lease ([0-9a-f]+) granted/.exec(out);
    if (m) ids.add(BigInt(`0x${m[1]}`), label);
  };
  const cmds: Cmd[] = [
    { args: ['get', 'foo', '-w', 'json'] },
    { args: ['put', 'foo', 'bar'] },
    { args: ['put', 'foo', 'baz', '--prev-kv'] },
    { args: ['get', 'foo'] },
    { args: ['get', 'foo', '-w', 'json'] },
    { args: ['get', 'foo', '-w', 'fields'] },
    { args: ['get', 'foo', '--rev', '2'] },
    { args: ['get', 'foo', '--rev', '1', '-w', 'json'] },
    { args: ['get', 'foo', '--rev', '100'] },
    { args: ['put', 'k1', 'v1'] },
    { args: ['put', 'k2', 'v2'] },
    { args: ['put', 'k3', 'v3'] },
    { args: ['get', 'k', '--prefix', '--sort-by=MODIFY', '--order=DESCEND'] },
    { args: ['get', 'k', '--prefix', '--limit', '2', '-w', 'json'] },
    { args: ['get', 'k', '--prefix', '--keys-only'] },
    { args: ['get', 'k', '--prefix', '--count-only', '-w', 'json'] },
    { args: ['get', 'a', '--from-key', '-w', 'simple'] },
    { args: ['get', 'k2', 'k9'] },
    { args: ['del', 'k1', '--prev-kv'] },
    { args: ['del', 'nothing'] },
    { args: ['txn', '-w', 'json'], stdin: 'value("foo") = "baz"\n\nput foo qux\nget k --prefix\n\nput foo no\n\n' },
    { args: ['txn'], stdin: 'mod("k2") > "100"\n\nput k2 yes\n\nget k2\ndel k3\n\n' },
    { args: ['txn'], stdin: 'ver("nope") = "0"\n\nput x 1\nput x 2\n\n\n' },
    { args: ['endpoint', 'hashkv', '-w', 'json'] },
    { args: ['compaction', '3'] },
    { args: ['compaction', '3'] },
    { args: ['compaction', '1000'] },
    { args: ['get', 'foo', '--rev', '2'] },
    { args: ['endpoint', 'hashkv'] },
    // (keys on server-chosen lease IDs make later hashes differ: no hashkv after this point)
    { args: ['lease', 'grant', '600'], learn: learnLease('<lease-a>') },
    // TTL 1 is raised to the minimum; revoked at once so that its expiry does not race the rest
    { args: ['lease', 'grant', '1'], learn: learnLease('<lease-b>') },
    { args: (ids) => ['lease', 'revoke', ids.hex('<lease-b>')] },
    { args: ['lease', 'grant', '900'], learn: learnLease('<lease-c>') },
    { args: ['lease', 'list'], unordered: true },
    { args: ['lease', 'timetolive', '1234'] },
    { args: ['lease', 'revoke', '1234'] },
    { args: ['lease', 'keep-alive', '--once', '1234'] },
    { args: ['put', 'leased', 'v', '--lease', '1234'] },
    { args: (ids) => ['put', 'leased', 'v', '--lease', ids.hex('<lease-a>')] },
    { args: (ids) => ['put', 'leased2', 'w', '--lease', ids.hex('<lease-a>')] },
    { args: (ids) => ['lease', 'timetolive', ids.hex('<lease-a>'), '--keys', '-w', 'json'] },
    { args: (ids) => ['lease', 'keep-alive', '--once', ids.hex('<lease-a>')] },
    { args: (ids) => ['lease', 'revoke', ids.hex('<lease-a>')] },
    { args: (ids) => ['lease', 'timetolive', ids.hex('<lease-a>')] },
    { args: ['get', 'leased', '--prefix', '-w', 'json'] },
    { args: ['endpoint', 'health'] },
    { args: ['endpoint', 'status', '-w', 'fields'] },
    { args: ['alarm', 'list'] },
    { args: ['member', 'list'] },
    { args: ['member', 'list', '-w', 'table'] },
    { args: ['del', 'k', '--prefix', '-w', 'json'] },
    { args: ['get', '', '--prefix', '-w', 'json'] },
    { args: ['put', '', 'v'] },
    { args: ['get', '--from-key', ''] },
    { args: ['version'] },
    { args: ['put', 'w1', 'a'] },
    { args: ['put', 'w1', 'b'] },
    { args: ['del', 'w1'] },
    { args: ['watch', 'w1', '--rev', '1', '--prev-kv'], killAfterMs: watchListenMs },
    { args: ['watch', 'w', '--prefix', '--rev', '1', '-w', 'json'], killAfterMs: watchListenMs },
    { args: ['watch', 'w1', '--rev', '2'], killAfterMs: watchListenMs },
    { args: ['put', 'w1', 'c', '--ignore-value'] },
    { args: ['put', 'foo', '--ignore-value', '--prev-kv'] },
    { args: ['put', 'foo', 'x', '--ignore-lease'] },
    { args: ['get', 'foo', '--consistency=s', '-w', 'json'] },
    { args: ['get', 'foo', '--rev=-1'] },
    { args: ['del', 'a', '--from-key', '--prev-kv'] },
    { args: ['compaction', '--physical', '4'] },
    { args: ['defrag'] },
    { args: ['alarm', 'disarm'] },
    { args: ['member', 'remove', '1234'] },
    { args: ['member', 'update', '1234', '--peer-urls=http://127.0.0.1:1'] },
    { args: ['member', 'promote', '1234'] },
    { args: ['move-leader', '1234'] },
    { args: ['lock', 'mylock', 'echo', 'locked'] },
    { args: ['get', 'mylock', '--prefix', '--count-only', '-w', 'fields'] },
  ];
  let i = 0;
  for (const cmd of cmds) {
    const argsOf = (ids: Ids) => (typeof cmd.args === 'function' ? cmd.args(ids) : cmd.args);
    const outs = await Promise.all(sides.map((s) => etcdctl(s.ep.client, argsOf(s.ids), cmd.stdin, cmd.killAfterMs)));
    outs.forEach((o, j) => cmd.learn?.(o.stdout, sides[j].ids));
    const sortLines = (x: string) => (cmd.unordered ? x.split('\n').sort().join('\n') : x);
    const [want, got] = outs.map((o, j) => ({ code: o.code, stdout: sortLines(sides[j].ids.normalise(o.stdout)), stderr: sides[j].ids.normalise(o.stderr) }));
    assert.deepEqual(got, want, `command ${i} \`etcdctl ${argsOf(sides[0].ids).join(' ')}\` prints differently (actual: tsetcd, expected: etcd)`);
    i++;
  }
});
