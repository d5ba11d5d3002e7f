// Golden tests: tsetcdctl vs the real etcdctl 3.4.23 on twin etcd servers — put/get/del/txn,
// compaction, every output format, help and bad arguments.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run, runInProcess, startTwins, type Twins } from './twin-etcd.js';

async function same(tw: Twins, args: string[], stdin?: string, viaBin = false): Promise<void> {
  const { real, ours } = await tw.both(args, { stdin, viaBin });
  assert.deepEqual(ours, real, `tsetcdctl ${args.join(' ')}`);
}

test('put/get/del/txn/compaction match etcdctl byte for byte', async (t) => {
  const tw = await startTwins(t);

  // Writes: the same sequence on both twins keeps their states (and revisions) identical.
  await same(tw, ['put', 'foo', 'bar'], undefined, true);
  await same(tw, ['put', 'foo', 'baz', '--prev-kv']);
  await same(tw, ['put', 'foo', 'qux', '--prev-kv', '-w', 'json']);
  await same(tw, ['put', 'foo', 'quux', '--prev-kv', '-w', 'fields']);
  await same(tw, ['put', 'bin', 'tab\there "quoted" ünïcode <&>']);
  await same(tw, ['put', 'k2'], 'value from stdin\n');
  await same(tw, ['put', 'k4'], 'through the binary\n', true);
  await same(tw, ['put', '--', 'dash', '-value']);
  await same(tw, ['put', 'k3', 'v3', '--prev-kv', '-w', 'protobuf']);
  for (const k of ['a1', 'a2', 'a3', 'b1']) await same(tw, ['put', k, `value-${k}`]);
  await same(tw, ['put', 'foo', '--ignore-value', '--prev-kv']);

  // Reads with every flag and output format.
  const reads: string[][] = [
    ['get', 'foo'],
    ['get', 'bin', '-w', 'fields'],
    ['get', 'bin', '-w', 'json'],
    ['get', 'bin', '--hex'],
    ['get', 'a', '--prefix'],
    ['get', 'a', '--prefix', '-w', 'json'],
    ['get', 'a', '--prefix', '-w', 'fields'],
    ['get', 'a', '--prefix', '-w', 'protobuf'],
    ['get', 'a', '--prefix', '--keys-only'],
    ['get', 'a', '--prefix', '--print-value-only'],
    ['get', 'a', '--prefix', '--limit', '2', '-w', 'json'],
    ['get', 'a', '--prefix', '--order', 'DESCEND'],
    ['get', 'a', '--prefix', '--sort-by', 'value', '--order', 'descend'],
    ['get', 'a', '--prefix', '--sort-by=CREATE', '--order=ASCEND'],
    ['get', 'a', '--prefix', '--sort-by=MODIFY', '-w', 'fields'],
    ['get', 'a', '--prefix', '--sort-by=VERSION', '--limit=1'],
    ['get', 'a1', 'a3'],
    ['get', 'a2', '--from-key', '--keys-only'],
    ['get', '', '--prefix', '--keys-only'],
    ['get', '', '--from-key', '-w', 'json'],
    ['get', 'foo', '--rev', '2'],
    ['get', 'foo', '--rev=3', '-w', 'json'],
    ['get', 'foo', '--consistency', 's'],
    ['get', 'nosuch', '-w', 'json'],
    ['get', 'nosuch', '-w', 'fields'],
    ['--write-out', 'json', 'get', 'foo'],
    ['-w=fields', 'get', 'foo'],
    ['get', '-wjson', 'foo'],
    // errors
    ['get'],
    ['get', 'a', 'b', '--prefix'],
    ['get', 'a', '--prefix', '--from-key'],
    ['get', 'foo', '--consistency', 'x'],
    ['get', 'foo', '--order', 'sideways'],
    ['get', 'foo', '--sort-by', 'size'],
    ['get', 'foo', '--print-value-only', '-w', 'json'],
    ['get', 'foo', '-w', 'table'],
    ['get', 'foo', '-w', 'xml'],
    ['get', 'foo', '--limit', 'x'],
    ['get', 'foo', '--limit'],
    ['get', 'foo', '--bogus'],
    ['get', 'foo', '-z'],
    ['get', 'foo', '--rev', '1000'],
    ['put'],
    ['put', 'a', 'b', '--ignore-value'],
    ['put', 'a', 'b', '--lease', 'zz'],
    ['del'],
    ['del', 'a', 'b', 'c'],
    ['del', 'a', '--prefix', '--from-key'],
    ['txn', 'extra'],
    ['compaction'],
    ['compaction', 'abc'],
    ['bogus'],
    ['--dial-timeout', 'soon', 'get', 'foo'],
    ['version'],
    ['ver'],
    ['--help'],
    ['get', '--help'],
    ['lease'],
    ['member', 'list', '-h'],
    ['put', '--help'],
    ['endpoint', 'health', '--help'],
    ['help', 'get'],
    ['help', 'bogus'],
    ['help', 'lease', 'bogus'],
  ];
  // Reads leave the state alone, so they run a few at a time.
  const readBatch = 6;
  for (let i = 0; i < reads.length; i += readBatch) await Promise.all(reads.slice(i, i + readBatch).map((args) => same(tw, args)));

  // Environment variables (pkg/flags): values, unknown names, conflicts with flags.
  for (const env of [{ ETCDCTL_WRITE_OUT: 'json' }, { ETCDCTL_HEX: 'true', ETCDCTL_FOO: 'bar' }, { ETCDCTL_ENDPOINTS: '127.0.0.1:1' }, { ETCDCTL_DIAL_TIMEOUT: 'bad' }]) {
    const { real, ours } = await tw.both(['get', 'foo'], { env });
    assert.deepEqual(ours, real, JSON.stringify(env));
  }
  // An unreachable endpoint: same error after --command-timeout.
  {
    const args = ['--command-timeout=1s', 'get', 'foo'];
    const [real, ours] = await Promise.all([run('etcdctl', ['--endpoints', '127.0.0.1:1', ...args]), runInProcess(['--endpoints', '127.0.0.1:1', ...args])]);
    assert.deepEqual(ours, { ...real, stderr: real.stderr.split('\n').filter((l) => !l.startsWith('{"level":')).join('\n') });
  }

  // Server-side and client-side refusals.
  for (const [args, stdin] of [[['put', '', 'v']], [['get', 'b', 'a']], [['put', 'k', 'v', '--lease=123']], [['put', 'huge'], 'x'.repeat(3_000_000)], [['txn'], '\nput d 1\nput d 2\n\n\n']] as [string[], string?][]) {
    await same(tw, args, stdin);
  }

  // Deletes.
  await same(tw, ['del', 'nosuch']);
  await same(tw, ['del', 'a1', '--prev-kv']);
  await same(tw, ['del', 'a', '--prefix', '--prev-kv', '-w', 'json']);
  await same(tw, ['del', 'b1', 'b2', '-w', 'fields']);
  await same(tw, ['del', 'k', '--from-key', '--prev-kv']);

  // Transactions from stdin.
  await same(tw, ['put', 'foo', 'bar']);
  const txns = [
    'value("foo") = "bar"\n\nput t1 1\nget foo\ndel nosuch\n\nput t2 2\n\n',
    'value("foo") = "nope"\nmod("t1") > "0"\n\nput t1 x\n\nput t2 y\nget t --prefix\n\n',
    'ver("foo") != "0"\ncreate("foo") < "100"\n\nget foo --print-value-only\n\n\n',
    'value("foo) = "x"\n\n\n\n',
    'ver("foo") = "x"\n\n\n\n',
    'bogus("foo") = "x"\n\n\n\n',
    '\nput a\n\n\n',
    '\nput a b c --bogus\n\n\n',
    '\nget a --limit\n\n\n',
    '\nput a b\n',
    "\nput 'a b' c\n\n\n",
    '\nget "t\\x31"\n\n\n',
  ];
  for (const stdin of txns) {
    await same(tw, ['txn'], stdin);
    await same(tw, ['txn', '-w', 'json'], stdin);
  }
  await same(tw, ['txn', '-w', 'fields'], txns[0], true);
  for (const args of [['get', 'a', '--prefix', '-w', 'json'], ['get', '--bogus'], ['bogus'], ['--help'], ['get', 't', '--prefix', '--hex']]) await same(tw, args, undefined, true);
  await same(tw, ['txn', '-i', '-w', 'fields'], txns[1]);

  // Compaction.
  await same(tw, ['compaction', '3']);
  await same(tw, ['compaction', '3']);
  await same(tw, ['compaction', '--physical', '5']);
  await same(tw, ['get', 'foo', '--rev', '2']);
});
