// etcd's command line: flag forms, ETCD_* environment, config file keys, refusals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFlags, loadConfigFile, FlagError, usage, flagSpecs } from '../src/cmd/flags.js';
import { parseRetention } from '../src/etcdserver/compactor.js';
import { tempDir } from './server-helpers.js';

test('flags: --f v, --f=v, -f v, bare and explicit booleans, lists, defaults', () => {
  const { values, set } = parseFlags(['--name', 'n1', '--snapshot-count=5', '-data-dir', '/d', '--client-cert-auth', '--debug=false', '--listen-client-urls', 'http://a:1,http://b:2'], {});
  assert.equal(values.name, 'n1');
  assert.equal(values['snapshot-count'], 5);
  assert.equal(values['data-dir'], '/d');
  assert.equal(values['client-cert-auth'], true);
  assert.equal(values.debug, false);
  assert.deepEqual(values['listen-client-urls'], ['http://a:1', 'http://b:2']);
  assert.equal(values['heartbeat-interval'], 100);
  assert.equal(values['election-timeout'], 1000);
  assert.equal(values['max-txn-ops'], 128);
  assert.equal(values['max-request-bytes'], 1572864);
  assert.ok(set.has('name') && !set.has('wal-dir'));
});

test('flags: ETCD_* environment fills flags not given, with warnings for unknown/shadowed', () => {
  const { values, warnings } = parseFlags(['--name', 'cli'], { ETCD_NAME: 'env', ETCD_SNAPSHOT_COUNT: '7', ETCD_BOGUS: '1', ETCD_CLIENT_CERT_AUTH: 'true' });
  assert.equal(values.name, 'cli');
  assert.equal(values['snapshot-count'], 7);
  assert.equal(values['client-cert-auth'], true);
  assert.ok(warnings.some((w) => w.includes('ETCD_BOGUS')));
  assert.ok(warnings.some((w) => w.includes('ETCD_NAME') && w.includes('shadowed')));
});

test('flags: unknown flags and bad values are refused with etcd wording', () => {
  assert.throws(() => parseFlags(['--bogus'], {}), (e: unknown) => e instanceof FlagError && e.message === 'flag provided but not defined: -bogus');
  assert.throws(() => parseFlags(['--snapshot-count', 'abc'], {}), /invalid value "abc" for flag -snapshot-count: parse error/);
  assert.throws(() => parseFlags(['--heartbeat-interval=-5'], {}), /invalid value "-5" for flag -heartbeat-interval/);
  assert.throws(() => parseFlags(['--client-cert-auth=maybe'], {}), /invalid value "maybe" for flag -client-cert-auth/);
  assert.throws(() => parseFlags(['--name'], {}), /flag needs an argument: -name/);
  assert.throws(() => parseFlags(['positional'], {}), FlagError);
});

test('config file: etcd YAML keys, TLS section', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 'etcd.yaml');
  await writeFile(f, [
    'name: cfg-node',
    'data-dir: /var/lib/x',
    'snapshot-count: 42',
    'heartbeat-interval: 50',
    'listen-client-urls: http://127.0.0.1:0',
    'client-transport-security:',
    '  cert-file: /c.pem',
    '  client-cert-auth: true',
    'peer-transport-security:',
    '  cert-file: /ignored.pem',
  ].join('\n'));
  const { values, set } = loadConfigFile(f);
  assert.equal(values.name, 'cfg-node');
  assert.equal(values['data-dir'], '/var/lib/x');
  assert.equal(values['snapshot-count'], 42);
  assert.equal(values['heartbeat-interval'], 50);
  assert.deepEqual(values['listen-client-urls'], ['http://127.0.0.1:0']);
  assert.equal(values['cert-file'], '/c.pem');
  assert.equal(values['client-cert-auth'], true);
  assert.ok(set.has('listen-client-urls') && !set.has('advertise-client-urls'));
  await writeFile(f, 'snapshot-count: lots\n');
  assert.throws(() => loadConfigFile(f), /invalid value "lots" for flag -snapshot-count/);
});

test('auto compaction retention parsing', () => {
  assert.deepEqual(parseRetention('periodic', '1'), { mode: 'periodic', periodMs: 3_600_000 });
  assert.deepEqual(parseRetention('periodic', '30m'), { mode: 'periodic', periodMs: 1_800_000 });
  assert.deepEqual(parseRetention('revision', '1000'), { mode: 'revision', revisions: 1000n });
  assert.equal(parseRetention('periodic', '0'), undefined);
  assert.deepEqual(parseRetention('periodic', '1h30m'), { mode: 'periodic', periodMs: 5_400_000 });
  assert.throws(() => parseRetention('revision', '1h'), /invalid auto-compaction-retention/);
  assert.throws(() => parseRetention('periodic', 'abc'), /time: invalid duration "abc"/);
});

test('flags: --unsafe-no-fsync (etcd 3.4.23+/3.5) is a boolean, off by default, from ETCD_UNSAFE_NO_FSYNC too', () => {
  assert.equal(parseFlags([], {}).values['unsafe-no-fsync'], false);
  assert.equal(parseFlags(['--unsafe-no-fsync'], {}).values['unsafe-no-fsync'], true);
  assert.equal(parseFlags([], { ETCD_UNSAFE_NO_FSYNC: 'true' }).values['unsafe-no-fsync'], true);
  assert.match(usage(), /--unsafe-no-fsync 'false'\n\s+Disables fsync, unsafe, will cause data loss\./);
});

test('flags: raft, storage, check and discovery flags in every form, with etcd defaults', async (t) => {
  const d = parseFlags([], {}).values;
  assert.equal(d['initial-election-tick-advance'], true);
  assert.equal(d['pre-vote'], false);
  assert.equal(d['force-new-cluster'], false);
  assert.equal(d['max-snapshots'], 5);
  assert.equal(d['max-wals'], 5);
  assert.equal(d['backend-batch-interval'], 0);
  assert.equal(d['backend-batch-limit'], 0);
  assert.equal(d['experimental-compaction-batch-limit'], 1000);
  assert.equal(d['experimental-backend-bbolt-freelist-type'], 'array');
  assert.equal(d['discovery-fallback'], 'proxy');
  assert.equal(d.proxy, 'off');
  assert.equal(d['proxy-refresh-interval'], 30000);
  const cli = parseFlags(['--pre-vote', '--max-wals', '2', '--backend-batch-interval=10ms', '--initial-election-tick-advance=false', '--experimental-corrupt-check-time', '1m', '--discovery-srv', 'example.com'], {}).values;
  assert.equal(cli['pre-vote'], true);
  assert.equal(cli['max-wals'], 2);
  assert.equal(cli['backend-batch-interval'], 10);
  assert.equal(cli['initial-election-tick-advance'], false);
  assert.equal(cli['experimental-corrupt-check-time'], 60000);
  assert.equal(cli['discovery-srv'], 'example.com');
  const env = parseFlags([], { ETCD_FORCE_NEW_CLUSTER: 'true', ETCD_MAX_SNAPSHOTS: '0', ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: '1', ETCD_DISCOVERY_SRV_NAME: 'x' }).values;
  assert.equal(env['force-new-cluster'], true);
  assert.equal(env['max-snapshots'], 0);
  assert.equal(env['experimental-initial-corrupt-check'], true);
  assert.equal(env['discovery-srv-name'], 'x');
  assert.throws(() => parseFlags([], { ETCD_PRE_VOTE: 'maybe' }), /error verifying flags, invalid value "maybe" for ETCD_PRE_VOTE: parse error/);
  assert.throws(() => parseFlags(['--discovery-fallback', 'retry'], {}), /invalid value "retry" for flag -discovery-fallback: invalid value/);
  assert.throws(() => parseFlags(['--backend-batch-interval', 'soon'], {}), /invalid value "soon" for flag -backend-batch-interval: parse error/);

  const dir = await tempDir(t);
  const f = join(dir, 'etcd.yaml');
  // etcd's YAML keys; a time.Duration is a number of nanoseconds there
  await writeFile(f, ['pre-vote: true', 'max-snapshots: 3', 'max-wals: 0', 'backend-batch-interval: 20000000', 'backend-batch-limit: 7', 'force-new-cluster: true', 'initial-election-tick-advance: false', 'experimental-initial-corrupt-check: true', 'experimental-corrupt-check-time: 2m', 'discovery-srv: example.org', 'discovery-fallback: exit', 'proxy: off', 'log-package-levels: etcdmain=INFO'].join('\n'));
  const y = loadConfigFile(f).values;
  assert.equal(y['pre-vote'], true);
  assert.equal(y['max-snapshots'], 3);
  assert.equal(y['max-wals'], 0);
  assert.equal(y['backend-batch-interval'], 20);
  assert.equal(y['backend-batch-limit'], 7);
  assert.equal(y['force-new-cluster'], true);
  assert.equal(y['initial-election-tick-advance'], false);
  assert.equal(y['experimental-initial-corrupt-check'], true);
  assert.equal(y['experimental-corrupt-check-time'], 120000);
  assert.equal(y['discovery-srv'], 'example.org');
  assert.equal(y['discovery-fallback'], 'exit');
  assert.equal(y.proxy, 'off');
  assert.equal(y['log-package-levels'], 'etcdmain=INFO');
});

test('--help: every flag of etcd 3.4.23\'s --help is accepted and listed, in etcd\'s sections', async (t) => {
  const { execFileSync } = await import('node:child_process');
  let etcdHelp: string;
  try {
    etcdHelp = execFileSync('/usr/bin/etcd', ['--help'], { encoding: 'utf8' });
  } catch {
    t.skip('no /usr/bin/etcd to compare with');
    return;
  }
  const names = [...etcdHelp.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]).filter((n) => n !== 'config-file');
  assert.ok(names.length > 70, `${names.length} flags in etcd --help`);
  const help = usage();
  for (const n of names) {
    assert.ok(n in flagSpecs, `--${n} is a flag`);
    assert.ok(help.includes(`  --${n} '`), `--${n} in --help`);
  }
  for (const section of ['Member:', 'Clustering:', 'Security:', 'Auth:', 'Logging:', 'Experimental feature:', 'Unsafe feature:']) assert.ok(help.includes(`\n${section}\n`), section);
});
