import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServerConf, loadClientConf, parseServerConf, parseClientConf, ConfigError, parseDurationMs } from '../src/index.js';

const greeterDir = fileURLToPath(new URL('../../../examples/greeter/', import.meta.url));

test('config: go-zero defaults from the greeter yaml', () => {
  const c = loadServerConf(join(greeterDir, 'hello.yaml'));
  assert.equal(c.Name, 'hello.rpc');
  assert.equal(c.ListenOn, '127.0.0.1:9090');
  assert.deepEqual(c.Etcd?.Hosts, ['127.0.0.1:2379']);
  assert.equal(c.Etcd?.Key, 'hello.rpc');
  assert.equal(c.Timeout, 2000);
  assert.equal(c.CpuThreshold, 900);
  assert.equal(c.Health, true);
  assert.equal(c.Mode, 'pro');
  assert.deepEqual(c.Middlewares, { Trace: true, Recover: true, Stat: true, Prometheus: true, Breaker: true });
  const cc = loadClientConf(join(greeterDir, 'client.yaml'));
  assert.equal(cc.Timeout, 2000);
  assert.equal(cc.NonBlock, false);
  assert.equal(cc.BalancerName, 'p2c_ewma');
  assert.equal(parseServerConf({ Name: 'a', ListenOn: ':8080', Etcd: { Hosts: ['h:1'], Key: 'k', ID: '18446744073709551' } }).Etcd?.ID, 18446744073709551n);
});

test('config: bad files are refused naming the field and the reason', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-conf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string, RegExp]> = [
    ['ListenOn: 127.0.0.1:1\n', /Name: is required/],
    ['Name: a\n', /ListenOn: is required/],
    ['Name: a\nListenOn: nope\n', /ListenOn: must be host:port/],
    ['Name: a\nListenOn: :1\nTimeout: fast\n', /Timeout: must be an integer/],
    ['Name: a\nListenOn: :1\nCpuThreshold: 1000\n', /CpuThreshold: must be in \[0, 999\]/],
    ['Name: a\nListenOn: :1\nEtcd:\n  Hosts: []\n  Key: k\n', /Etcd\.Hosts: must be a non-empty list/],
    ['Name: a\nListenOn: :1\nEtcd:\n  Hosts: [h:1]\n', /Etcd\.Key: is required/],
    ['Name: a\nListenOn: :1\nEtcd:\n  Hosts: [h:1]\n  Key: k\n  ID: -3\n', /Etcd\.ID: must be a positive 64-bit integer/],
    ['Name: a\nListenOn: :1\nLisenOn: :2\n', /LisenOn: unknown field/],
    ['Name: a\nListenOn: :1\nMiddlewares:\n  Breaker: maybe\n', /Middlewares\.Breaker: must be true or false/],
    ['Name: a\nListenOn: :1\nMethodTimeouts:\n  - FullMethod: nope\n    Timeout: 1s\n', /MethodTimeouts\[0\]\.FullMethod: must look like/],
    ['Name: a\nListenOn: :1\nMode: prod\n', /Mode: must be one of/],
    ['Name: [a\n', /\(yaml\)/],
  ];
  for (const [i, [yaml, re]] of cases.entries()) {
    const f = join(dir, `s${i}.yaml`);
    writeFileSync(f, yaml);
    assert.throws(() => loadServerConf(f), (e: unknown) => e instanceof ConfigError && e.code === 'RPC_CONFIG_INVALID' && re.test(e.message) && e.message.startsWith(f), `case ${i}: ${yaml}`);
  }
  assert.throws(() => loadServerConf(join(dir, 'missing.yaml')), /\(file\)/);
  assert.throws(() => parseClientConf({}), /Etcd: one of Etcd, Endpoints or Target is required/);
  assert.throws(() => parseClientConf({ Endpoints: ['a:1'], Target: 'direct://a:1' }), /only one of/);
  assert.throws(() => parseClientConf({ Target: 'a:1' }), /Target: must be a URI/);
  assert.throws(() => parseClientConf({ Endpoints: ['a:1'], App: 'x' }), /Token: App and Token go together/);
  assert.throws(() => parseClientConf({ Endpoints: ['a:1'], BalancerName: 'random' }), /BalancerName: must be/);
  assert.equal(parseClientConf({ Endpoints: ['a:1'], KeepaliveTime: '20s' }).KeepaliveTime, 20_000);
});

test('config: Go durations (a string in Go syntax, a number of nanoseconds, as go-zero maps time.Duration)', () => {
  assert.equal(parseDurationMs('1m30s'), 90_000);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.equal(parseDurationMs('300ms'), 300);
  assert.equal(parseDurationMs('1h2m3.5s'), 3_723_500);
  assert.equal(parseDurationMs('0'), 0);
  assert.equal(parseDurationMs(250_000_000), 250);
  assert.equal(parseDurationMs('250'), undefined, 'Go refuses a number without a unit');
  assert.equal(parseDurationMs('5x'), undefined);
  assert.equal(parseDurationMs('-1s'), undefined);
  assert.equal(parseDurationMs(''), undefined);
});
