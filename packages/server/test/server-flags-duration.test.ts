// Go duration flags (--experimental-watch-progress-notify-interval=300ms, --grpc-keepalive-*):
// time.ParseDuration's grammar, etcd's refusal wording (checked against the real etcd binary),
// and the YAML config file's nanosecond integers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFlags, loadConfigFile } from '../src/cmd/flags.js';
import { parseGoDurationMs, GoDurationError } from '../src/cmd/go-duration.js';
import { tempDir } from './server-helpers.js';

test('go duration: valid forms in milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['0', 0], ['-0', 0], ['+0', 0], ['5s', 5000], ['-5s', -5000], ['+5s', 5000], ['5.0s', 5000], ['5.6s', 5600],
    ['5.s', 5000], ['.5s', 500], ['1.004s', 1004], ['100.00100s', 100001], ['10ns', 0.00001], ['11us', 0.011],
    ['12µs', 0.012], ['12μs', 0.012], ['13ms', 13], ['15m', 900000], ['16h', 57600000], ['3h30m', 12600000],
    ['10.5s4m', 250500], ['-2m3.4s', -123400], ['1h2m3s4ms', 3723004], ['300ms', 300], ['1m30s', 90000],
  ];
  for (const [s, ms] of cases) assert.ok(Math.abs(parseGoDurationMs(s) - ms) < 1e-9, `${s}: ${parseGoDurationMs(s)} != ${ms}`);
});

test('go duration: invalid forms are refused with Go wording', () => {
  for (const s of ['', '-', 's', '.', '-.', '.s', '+.s', '9999999999h']) {
    assert.throws(() => parseGoDurationMs(s), (e: unknown) => e instanceof GoDurationError && e.message === `time: invalid duration ${JSON.stringify(s)}`, s);
  }
  assert.throws(() => parseGoDurationMs('1d'), { message: 'time: unknown unit "d" in duration "1d"' });
  assert.throws(() => parseGoDurationMs('5 s'), { message: 'time: unknown unit " s" in duration "5 s"' });
  assert.throws(() => parseGoDurationMs('3'), { message: 'time: missing unit in duration "3"' });
  assert.throws(() => parseGoDurationMs('1.2.3s'), { message: 'time: missing unit in duration "1.2.3s"' });
});

test('flags: duration flags take Go durations (300ms, 1m30s) from argv, env and config file', async (t) => {
  const a = parseFlags(['--experimental-watch-progress-notify-interval=300ms', '--grpc-keepalive-timeout', '1m30s'], {});
  assert.equal(a.values['experimental-watch-progress-notify-interval'], 300);
  assert.equal(a.values['grpc-keepalive-timeout'], 90000);
  assert.equal(parseFlags([], {}).values['experimental-watch-progress-notify-interval'], 600000);
  const e = parseFlags([], { ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '2s' });
  assert.equal(e.values['experimental-watch-progress-notify-interval'], 2000);
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  // etcd unmarshals a YAML number into time.Duration as nanoseconds
  await writeFile(file, 'experimental-watch-progress-notify-interval: 250000000\ngrpc-keepalive-min-time: 7s\n');
  const c = loadConfigFile(file);
  assert.equal(c.values['experimental-watch-progress-notify-interval'], 250);
  assert.equal(c.values['grpc-keepalive-min-time'], 7000);
});

function etcdFirstLine(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('etcd', args, { timeout: 10000 }, (_err, stdout, stderr) => resolve(`${stderr}${stdout}`.split('\n')[0]));
  });
}

test('flags: bad durations get the same refusal as etcd 3.4', async () => {
  for (const [flag, raw] of [['experimental-watch-progress-notify-interval', 'abc'], ['grpc-keepalive-timeout', '5'], ['grpc-keepalive-min-time', '1d']]) {
    const want = await etcdFirstLine([`--${flag}=${raw}`]);
    assert.throws(() => parseFlags([`--${flag}=${raw}`], {}), { message: want });
  }
});
