// Unit tests of the Go-compatible formatting and parsing helpers (no server needed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagParseError, FlagSet, flagUsages, type FlagSpec } from '../src/flag-set.js';
import { goUnquote, hex16, hexPad16, humanizeBytes, parseGoInt } from '../src/go-format.js';
import { goJson, KeyValueSchema, LeaseTimeToLiveSchema } from '../src/go-json.js';
import { renderTable, tabAlign } from '../src/text-columns.js';
import { argify, parseCompare } from '../src/commands/kv-commands.js';

test('goUnquote reads Go string literals', () => {
  assert.deepEqual(goUnquote('"a\\x41\\n" rest'), { value: 'aA\n', rest: ' rest' });
  assert.deepEqual(goUnquote('`raw\\n`x'), { value: 'raw\\n', rest: 'x' });
  assert.equal(goUnquote('"unterminated'), undefined);
  assert.equal(goUnquote('"bad \\q"'), undefined);
});

test('sizes and ids print like Go', () => {
  assert.equal(humanizeBytes(5), '5 B');
  assert.equal(humanizeBytes(20480), '20 kB');
  assert.equal(humanizeBytes(20500), '20 kB'); // Go rounds exact halves to even
  assert.equal(humanizeBytes(1536000), '1.5 MB');
  assert.equal(hex16(0x390da21294928110n), '390da21294928110');
  assert.equal(hex16(-1n), 'ffffffffffffffff');
  assert.equal(hexPad16(0xabcn), '             abc');
  assert.equal(parseGoInt('ff', 16), 255n);
  assert.throws(() => parseGoInt('zz', 16), /strconv.ParseInt: parsing "zz": invalid syntax/);
  assert.throws(() => parseGoInt('9223372036854775808', 10), /value out of range/);
});

test('Go json: 64-bit numbers exact, bytes base64, omitempty, HTML escaping', () => {
  const kv = { key: Buffer.from('<k>'), value: Buffer.alloc(0), createRevision: 2n, modRevision: 18446744073709551615n, version: 0n, lease: 0n };
  assert.equal(goJson(KeyValueSchema, kv), '{"key":"PGs+","create_revision":2,"mod_revision":18446744073709551615}');
  const ttl = { header: { clusterId: 1n, memberId: 0n, revision: 3n, raftTerm: 0n }, ID: 5n, TTL: -1n, grantedTTL: 0n, keys: [] };
  assert.equal(goJson(LeaseTimeToLiveSchema, ttl), '{"cluster_id":1,"revision":3,"id":5,"ttl":-1,"granted-ttl":0,"keys":null}');
});

test('pflag-style parsing', () => {
  const specs: FlagSpec[] = [
    { name: 'write-out', short: 'w', kind: 'string', def: 'simple', usage: 'format' },
    { name: 'prefix', kind: 'bool', def: 'false', usage: 'p' },
    { name: 'limit', kind: 'int64', def: '0', usage: 'l' },
    { name: 'endpoints', kind: 'stringSlice', def: '[127.0.0.1:2379]', usage: 'e' },
    { name: 'interactive', short: 'i', kind: 'bool', def: 'false', usage: 'i' },
  ];
  const f = new FlagSet(specs);
  assert.deepEqual(f.parse(['a', '--prefix', '-wjson', '--limit=0x10', 'b', '--', '--not-a-flag']), ['a', 'b', '--not-a-flag']);
  assert.equal(f.getString('write-out'), 'json');
  assert.equal(f.getBool('prefix'), true);
  assert.equal(f.getInt('limit'), 16n);
  assert.deepEqual(f.getStrings('endpoints'), ['127.0.0.1:2379']);
  const g = new FlagSet(specs);
  g.parse(['--endpoints', 'a:1,b:2', '-iw', 'fields', '--prefix=false']);
  assert.deepEqual(g.getStrings('endpoints'), ['a:1', 'b:2']);
  assert.equal(g.getBool('interactive'), true);
  assert.equal(g.getString('write-out'), 'fields');
  assert.equal(g.getBool('prefix'), false);
  assert.throws(() => new FlagSet(specs).parse(['--bogus']), (e: unknown) => e instanceof FlagParseError && e.message === 'unknown flag: --bogus');
  assert.throws(() => new FlagSet(specs).parse(['--limit']), /flag needs an argument: --limit/);
  assert.throws(() => new FlagSet(specs).parse(['-w']), /flag needs an argument: 'w' in -w/);
  assert.throws(() => new FlagSet(specs).parse(['-x']), /unknown shorthand flag: 'x' in -x/);
  assert.throws(() => new FlagSet(specs).parse(['--limit', 'x']), /invalid argument "x" for "--limit" flag: strconv.ParseInt: parsing "x": invalid syntax/);
  assert.equal(flagUsages(specs.slice(0, 2)), '      --prefix[=false]\tp\n  -w, --write-out="simple"\tformat\n');
});

test('tab alignment and tables', () => {
  assert.equal(tabAlign('\ta\tshort\n\tlonger-name\tx\nplain\n'), '\ta\t\tshort\n\tlonger-name\tx\nplain\n');
  assert.equal(
    renderTable(['id', 'is_learner'], [['abc', 'false']]),
    '+-----+------------+\n| ID  | IS LEARNER |\n+-----+------------+\n| abc |      false |\n+-----+------------+\n',
  );
});

test('txn line parsing (argify, compares)', () => {
  assert.deepEqual(argify('put "a b" c'), ['put', 'a b', 'c']);
  assert.deepEqual(argify('get k --prefix'), ['get', 'k', '--prefix']);
  const cmp = parseCompare('mod("key") > "5"');
  assert.equal(cmp.key.toString(), 'key');
  assert.deepEqual(cmp.targetUnion, { $case: 'modRevision', value: 5n });
  assert.throws(() => parseCompare('nope'), /malformed comparison: nope/);
  assert.throws(() => parseCompare('ver("k") = "x"'), /invalid txn compare request/);
});
