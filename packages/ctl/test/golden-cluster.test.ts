// Golden tests: tsetcdctl vs the real etcdctl 3.4.23 on twin etcd servers — lease, member,
// endpoint, alarm, defrag, snapshot, user/role and watch.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeOutput, EtcdServer, normalize, run, runInProcess, startTwins, tsetcdctlBin, type RunResult, type Side, type Twins } from './twin-etcd.js';

async function same(tw: Twins, args: string[] | ((s: Side) => string[]), fix: (s: string, side: Side) => string = (s) => s, stdin?: string): Promise<void> {
  const { real, ours } = await tw.both(args, { stdin });
  const f = (r: RunResult, side: Side) => ({ stdout: fix(r.stdout, side), stderr: fix(r.stderr, side), code: r.code });
  assert.deepEqual(f(ours, 'ours'), f(real, 'real'), `tsetcdctl ${typeof args === 'function' ? args('ours').join(' ') : args.join(' ')}`);
}

test('outputs are compared as etcdctl wrote them: Go durations in any unit are hidden, other bytes kept', () => {
  // etcdctl's `endpoint health -w fields` on a quiet machine: "Took" in microseconds, UTF-8 encoded
  const fields = (took: string) => Buffer.from(`"Endpoint" : "127.0.0.1:1"\n"Health" : true\n"Took" : ${took}\n"Error" : \n\n`, 'utf8');
  const hidden = '"Endpoint" : "<EP>"\n"Health" : true\n"Took" : <DUR>\n"Error" : \n\n';
  for (const took of ['911.909µs', '812ns', '1.048576ms', '2.5s', '1m0.25s']) {
    assert.equal(normalize({ stdout: decodeOutput(fields(took)), stderr: '', code: 0 }, '127.0.0.1:1').stdout, hidden, took);
  }
  assert.equal(normalize({ stdout: 'TTL(60s)', stderr: '', code: 0 }, 'x').stdout, 'TTL(60s)');
  // bytes that are not UTF-8 (-w protobuf) still compare exactly
  assert.notEqual(decodeOutput(Buffer.from([0x0a, 0xb5])), decodeOutput(Buffer.from([0x0a, 0xc2, 0xb5])));
  assert.notEqual(decodeOutput(Buffer.from([0xff, 0x01])), decodeOutput(Buffer.from([0xfe, 0x01])));
});

test('lease, member, endpoint, alarm, defrag, user/role match etcdctl', async (t) => {
  const tw = await startTwins(t);
  await tw.both(['put', 'seed', 'v']);

  // Cluster and maintenance reads, every format (before leases: lease IDs enter the KV hash).
  const dbSize = (s: string) => s.replace(/\d+ kB/g, '<SIZE>').replace(/"dbSize":\d+,/g, '').replace(/"dbSizeInUse":\d+/g, '').replace(/"DBSize" : \d+/g, '');
  for (const w of ['simple', 'json', 'fields', 'table', 'protobuf']) {
    await same(tw, ['member', 'list', '-w', w]);
    // The "took" column's width follows the measured duration.
    await same(tw, ['endpoint', 'health', '-w', w], (s) => (w === 'table' ? s.replace(/-+/g, '-').replace(/ +/g, ' ') : s));
    await same(tw, ['endpoint', 'status', '-w', w], dbSize);
    await same(tw, ['endpoint', 'hashkv', '-w', w]);
    // etcdctl 3.4 crashes on `-w fields` here (nil header): same panic line and exit code 2.
    const panicTrace = (s: string) => s.replace(/goroutine[\s\S]*/, '').replace(/pc=0x[0-9a-f]+/, 'pc=<PC>');
    await same(tw, ['alarm', 'list', '-w', w], panicTrace);
    await same(tw, ['alarm', 'disarm', '-w', w], panicTrace);
  }
  await same(tw, ['endpoint', 'hashkv', '--rev', '2']);
  await same(tw, ['defrag']);
  for (const args of [['member', 'add'], ['member', 'add', 'x', 'http://a:1'], ['member', 'add', 'x'], ['member', 'remove'], ['member', 'remove', 'zz'], ['member', 'update', '12'], ['member', 'promote', '1234'], ['move-leader'], ['move-leader', 'zz'], ['alarm', 'list', 'x']]) {
    await same(tw, args);
  }

  // Leases: IDs come from each server's clock, so they are replaced by a placeholder.
  const granted = await tw.both(['lease', 'grant', '1000']);
  const hexId = { real: granted.real.stdout.split(' ')[1], ours: granted.ours.stdout.split(' ')[1] };
  assert.match(hexId.ours, /^[0-9a-f]{16}$/);
  assert.equal(granted.ours.stdout.replace(hexId.ours, 'ID'), granted.real.stdout.replace(hexId.real, 'ID'));
  const decId = { real: BigInt('0x' + hexId.real).toString(), ours: BigInt('0x' + hexId.ours).toString() };
  const noLease = (s: string, side: Side) => s.split(hexId[side]).join('<ID>').split(decId[side]).join('<ID>');
  // Remaining TTLs tick with wall time; compare them loosely.
  const noTtl = (s: string, side: Side) => noLease(s, side).replace(/remaining\(\d+s\)/g, 'remaining(<T>)').replace(/"ttl":\d+/g, '"ttl":<T>').replace(/"TTL" : 9\d\d/g, '"TTL" : <T>');

  await same(tw, (s) => ['put', 'leased', 'v', `--lease=${hexId[s]}`]);
  for (const w of ['simple', 'json', 'fields']) {
    await same(tw, ['lease', 'grant', '60', '-w', w], (s) => s.replace(/\d{17,20}|[0-9a-f]{16}/g, '<NEWID>'));
    await same(tw, (s) => ['lease', 'timetolive', hexId[s], '-w', w], noTtl);
    await same(tw, (s) => ['lease', 'timetolive', '--keys', hexId[s], '-w', w], noTtl);
    await same(tw, (s) => ['lease', 'keep-alive', '--once', hexId[s], '-w', w], noLease);
  }
  // keep-alive (streaming) until killed: the first renewal line is the same.
  const [kaReal, kaOurs] = await Promise.all([
    watchUntil('etcdctl', ['--endpoints', tw.real.endpoint, 'lease', 'keep-alive', hexId.real], /TTL\(\d+\)\n/, () => undefined),
    watchUntil(tsetcdctlBin, ['--endpoints', tw.ours.endpoint, 'lease', 'keep-alive', hexId.ours], /TTL\(\d+\)\n/, () => undefined),
  ]);
  assert.equal(noLease(kaOurs, 'ours'), noLease(kaReal, 'real'));
  await same(tw, ['lease', 'list', '-w', 'json'], (s) => s.replace(/\d{17,20}/g, '<ID>'));
  await same(tw, ['lease', 'list'], (s) => s.replace(/[0-9a-f]{16}\n/g, '<ID>\n'));
  for (const args of [['lease', 'grant'], ['lease', 'grant', 'x'], ['lease', 'revoke'], ['lease', 'timetolive', 'zz'], ['lease', 'timetolive', '1234'], ['lease', 'timetolive', '1234', '-w', 'json'], ['lease', 'revoke', '1234'], ['lease', 'keep-alive', '--once', '1234'], ['lease', 'list', '-w', 'table']]) {
    await same(tw, args);
  }
  await same(tw, (s) => ['lease', 'revoke', hexId[s], '-w', 'json']);
  await same(tw, (s) => ['lease', 'timetolive', hexId[s]], noLease);
  await same(tw, ['get', 'leased']);

  // Membership changes with a learner (it does not count for quorum); its ID is random.
  const added = await tw.both(['member', 'add', 'learner1', '--learner', '--peer-urls=http://127.0.0.1:39999']);
  const learner = { real: / ([0-9a-f]+) added/.exec(added.real.stdout)![1], ours: / ([0-9a-f]+) added/.exec(added.ours.stdout)![1] };
  const noLearner = (s: string, side: Side) => s.split(learner[side]).join('<L>').split(BigInt('0x' + learner[side]).toString()).join('<L>');
  const clusterLine = (s: string) => s.replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/, (_, l: string) => `ETCD_INITIAL_CLUSTER="${l.split(',').sort().join(',')}"`);
  assert.equal(clusterLine(noLearner(added.ours.stdout, 'ours')), clusterLine(noLearner(added.real.stdout, 'real')));
  // Members are listed by ID and the learner's ID is random, so the order is normalised too.
  const sortMembers = (s: string, w: string): string => {
    if (w === 'json') return s.replace(/"members":\[\{(.*)\}\]/, (_, m: string) => `"members":[{${m.split('},{').sort().join('},{')}}]`);
    if (w === 'fields') {
      const [head, ...blocks] = s.split(/(?="ID" : )/);
      return head + blocks.sort().join('');
    }
    if (w === 'table') {
      const lines = s.split('\n');
      return [...lines.slice(0, 3), ...lines.slice(3, -2).sort(), ...lines.slice(-2)].join('\n');
    }
    return s.split('\n').sort().join('\n');
  };
  for (const w of ['simple', 'json', 'fields', 'table']) await same(tw, ['member', 'list', '-w', w], (s, side) => sortMembers(noLearner(s, side), w));
  await same(tw, (s) => ['member', 'promote', learner[s]], noLearner);
  await same(tw, (s) => ['member', 'update', learner[s], '--peer-urls=http://127.0.0.1:39998', '-w', 'json'], (s, side) => sortMembers(noLearner(s, side), 'json'));
  await same(tw, (s) => ['member', 'remove', learner[s]], noLearner);
  await same(tw, ['member', 'add', 'learner2', '--learner', '--peer-urls=http://127.0.0.1:39997', '-w', 'json'], (s) => sortMembers(s.replace(/\d{17,20}/g, '<ID>'), 'json'));
  await same(tw, ['member', 'list', '-w', 'fields'], (s) => sortMembers(s.replace(/"ID" : \d+\n"Name" : ""/, '"ID" : <ID>\n"Name" : ""'), 'fields'));

  // Users and roles (auth stays disabled).
  const authCmds = [
    ['role', 'add', 'reader'],
    ['role', 'grant-permission', 'reader', 'read', 'foo'],
    ['role', 'grant-permission', 'reader', 'readwrite', 'pre', '--prefix'],
    ['role', 'grant-permission', 'reader', 'write', 'a', 'c'],
    ['role', 'grant-permission', 'reader', 'bogus', 'a'],
    ['role', 'get', 'reader'],
    ['role', 'get', 'reader', '-w', 'json'],
    ['role', 'get', 'reader', '-w', 'fields'],
    ['role', 'list'],
    ['role', 'list', '-w', 'fields'],
    ['user', 'add', 'alice:secret'],
    ['user', 'add', 'bob', '--new-user-password', 'pw', '-w', 'json'],
    ['user', 'grant-role', 'alice', 'reader'],
    ['user', 'get', 'alice'],
    ['user', 'get', 'alice', '--detail'],
    ['user', 'list'],
    ['user', 'list', '-w', 'json'],
    ['user', 'revoke-role', 'alice', 'reader'],
    ['role', 'revoke-permission', 'reader', 'foo'],
    ['role', 'revoke-permission', 'reader', 'a', 'c'],
    ['user', 'delete', 'bob'],
    ['role', 'delete', 'reader'],
    ['user', 'get', 'nosuch'],
    ['user', 'add'],
    ['auth', 'disable'],
  ];
  for (const args of authCmds) await same(tw, args);
  // Passwords from stdin (no terminal): prompts, stty's complaints, confirmation.
  await same(tw, ['user', 'add', 'frank'], undefined, 'pw\npw\n');
  await same(tw, ['user', 'add', 'gina'], undefined, 'pw\nother\n');
  await same(tw, ['user', 'passwd', 'frank'], undefined, 'new\nnew\n');
  await same(tw, ['user', 'passwd', 'frank', '--interactive=false'], undefined, 'token rest\n');

  // With authentication enabled: credentials from --user, --password, a prompt; refusals.
  await same(tw, ['user', 'add', 'root:rootpw']);
  await same(tw, ['auth', 'enable']);
  await same(tw, ['get', 'seed']);
  await same(tw, ['--user', 'root:rootpw', 'get', 'seed', '-w', 'json']);
  await same(tw, ['--user', 'root', '--password', 'rootpw', 'put', 'authed', 'v']);
  await same(tw, ['--user', 'root', 'get', 'authed'], undefined, 'rootpw\n');
  await same(tw, ['--user', 'root:wrong', 'get', 'seed']);
  await same(tw, ['--user', 'nobody:x', 'get', 'seed']);
  await same(tw, ['--user', 'root:rootpw', 'auth', 'disable']);
});

test('snapshot save and status match etcdctl', async (t) => {
  const tw = await startTwins(t);
  const dir = mkdtempSync(join(tmpdir(), 'tsetcdctl-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 20; i++) await tw.both(['put', `k${i}`, `value ${i}`]);
  await tw.both(['del', 'k1']);

  const saved = await tw.both((s) => ['snapshot', 'save', join(dir, `${s}.db`)]);
  const fix = (r: RunResult, side: Side) => ({ ...r, stdout: r.stdout.replace(join(dir, `${side}.db`), 'FILE') });
  assert.deepEqual(fix(saved.ours, 'ours'), fix(saved.real, 'real'));
  assert.ok(statSync(join(dir, 'ours.db')).size > 0);
  // Progress is logged on stderr like etcdctl (zap JSON lines).
  const progress = await runInProcess(['--endpoints', tw.ours.endpoint, 'snapshot', 'save', join(dir, 'again.db')]);
  assert.match(progress.stderr, /"msg":"fetching snapshot"/);
  assert.match(progress.stderr, /"msg":"saved"/);

  // `snapshot status` reads the file: both tools on each file must agree.
  for (const file of ['real.db', 'ours.db']) {
    for (const w of ['simple', 'json', 'fields', 'table']) {
      const real = await run('etcdctl', ['snapshot', 'status', join(dir, file), '-w', w]);
      const ours = await runInProcess(['snapshot', 'status', join(dir, file), '-w', w]);
      assert.deepEqual(ours, real, `snapshot status ${file} -w ${w}`);
    }
  }
  // `snapshot restore` writes the same WAL and raft snapshot as etcdctl, and etcd starts from it.
  const restoreArgs = (out: string) => ['snapshot', 'restore', join(dir, 'real.db'), '--data-dir', join(dir, out), '--name', 'r1', '--initial-cluster', 'r1=http://127.0.0.1:2380,r2=http://127.0.0.1:2381', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster-token', 'restored'];
  const [restoredReal, restoredOurs] = await Promise.all([run('etcdctl', restoreArgs('restored-real')), runInProcess(restoreArgs('restored-ours'))]);
  const noLogs = (r: RunResult) => ({ ...r, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('{"level":')).join('\n') });
  assert.deepEqual(noLogs(restoredOurs), noLogs(restoredReal));
  for (const f of ['member/snap/0000000000000001-0000000000000002.snap', 'member/wal/0000000000000000-0000000000000000.wal']) {
    assert.ok(readFileSync(join(dir, 'restored-ours', f)).equals(readFileSync(join(dir, 'restored-real', f))), f);
  }
  for (const args of [restoreArgs('restored-ours'), ['snapshot', 'restore'], ['snapshot', 'restore', join(dir, 'real.db'), '--data-dir', join(dir, 'x'), '--name', 'nobody'], ['snapshot', 'restore', join(dir, 'real.db'), '--data-dir', join(dir, 'y'), '--initial-advertise-peer-urls', 'http://10.1.1.1:1']]) {
    const [real, ours] = await Promise.all([run('etcdctl', args), runInProcess(args)]);
    assert.deepEqual(noLogs(ours), noLogs(real), args.join(' '));
  }
  // A one-member restore must boot a real etcd with the snapshot's data.
  const single = ['--name', 'r1', '--initial-cluster', 'r1=http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster-token', 'restored'];
  const one = await runInProcess(['snapshot', 'restore', join(dir, 'ours.db'), '--data-dir', join(dir, 'restored-one'), ...single]);
  assert.equal(one.code, 0, one.stderr);
  const restored = new EtcdServer('restored');
  t.after(() => restored.stop());
  await restored.start({ dataDir: join(dir, 'restored-one'), name: 'r1', peerUrl: 'http://127.0.0.1:2380', cluster: 'r1=http://127.0.0.1:2380', token: 'restored' });
  const afterRestore = await run('etcdctl', ['--endpoints', restored.endpoint, 'get', 'k1', 'k3', '-w', 'fields']);
  assert.match(afterRestore.stdout, /"Key" : "k2"\n/);
  assert.equal((await run('etcdctl', ['--endpoints', restored.endpoint, 'put', 'new', 'write'])).stdout, 'OK\n');

  for (const args of [['snapshot', 'status'], ['snapshot', 'status', join(dir, 'missing.db')], ['snapshot', 'save'], ['snapshot', 'status', join(dir, 'real.db'), '-w', 'protobuf']]) {
    const real = await run('etcdctl', args);
    const ours = await runInProcess(args);
    assert.deepEqual(ours, real, args.join(' '));
  }
});

/** Starts a watcher process; resolves with its output once `until` matches it (then kills it). */
function watchUntil(bin: string, args: string[], until: RegExp, startWrites: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
    const chunks: Buffer[] = [];
    const out = (): string => decodeOutput(Buffer.concat(chunks));
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`watch timed out; got ${JSON.stringify(out())} ${err}`));
    }, 20000);
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      if (until.test(out())) {
        clearTimeout(timer);
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', () => resolve(out()));
    child.on('spawn', startWrites);
  });
}

test('watch prints the same events as etcdctl', async (t) => {
  const tw = await startTwins(t);
  const status = await tw.both(['get', 'x', '-w', 'json']);
  const rev = JSON.parse(status.real.stdout).header.revision as number;
  assert.equal(JSON.parse(status.ours.stdout).header.revision, rev);
  const writes = async () => {
    for (const args of [['put', 'w1', 'x'], ['put', 'w1', 'y'], ['put', 'w2', 'z'], ['del', 'w1'], ['put', 'stop', 'now']]) await tw.both(args);
  };
  const from = String(rev + 1);
  // Live events (the simple format does not depend on how events are batched).
  let started = 0;
  let written: Promise<void> | undefined;
  const kick = () => {
    if (++started === 2) written = writes();
  };
  const live = ['watch', 'w', '--prefix', '--prev-kv', '--rev', from];
  const [liveReal, liveOurs] = await Promise.all([
    watchUntil('etcdctl', ['--endpoints', tw.real.endpoint, ...live], /DELETE\nw1\ny\nw1\n\n$/, kick),
    watchUntil(tsetcdctlBin, ['--endpoints', tw.ours.endpoint, ...live], /DELETE\nw1\ny\nw1\n\n$/, kick),
  ]);
  assert.equal(liveOurs, liveReal);
  await written; // the last write ('stop') may still run once the watchers saw the delete
  const afterWrites = await tw.both(['get', 'stop']);
  assert.deepEqual(afterWrites.ours, afterWrites.real);
  // History replayed from --rev: whole responses (headers, batching) are deterministic.
  for (const [args, until] of [
    [['watch', '', '--prefix', '--rev', from, '-w', 'json'], /"c3RvcA=="[^\n]*\n$/],
    [['watch', 'stop', '--rev', from, '-w', 'fields'], /"Lease" : 0\n$/],
    [['watch', 'w1', 'w3', '--rev', from, '-w', 'protobuf'], /w1/],
  ] as const) {
    const [real, ours] = await Promise.all([
      watchUntil('etcdctl', ['--endpoints', tw.real.endpoint, ...args], until, () => undefined),
      watchUntil(tsetcdctlBin, ['--endpoints', tw.ours.endpoint, ...args], until, () => undefined),
    ]);
    assert.equal(ours, real, args.join(' '));
  }
  // A compacted start revision: canceled by the server, same message and exit code.
  await tw.both(['compaction', String(rev + 3)]);
  const compacted = await tw.both(['watch', 'w', '--rev', '2', '-w', 'json']);
  assert.deepEqual(compacted.ours, compacted.real);
  for (const args of [['watch'], ['watch', 'a', '--'], ['watch', 'a', 'b', '--prefix']]) {
    const r = await tw.both(args);
    assert.deepEqual(r.ours, r.real, args.join(' '));
  }
});
