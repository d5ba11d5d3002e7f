// Go's time.ParseDuration and Duration.String: values, overflow, and refusals in Go's words,
// compared with what the real etcdctl (Go) prints for the same flag values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { formatGoDuration, GoDurationError, goTimeQuote, parseGoDuration, parseGoDurationMs } from '../src/go-duration.js';

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
    assert.throws(() => parseGoDurationMs(s), (e: unknown) => e instanceof GoDurationError && e.message === `time: invalid duration ${goTimeQuote(s)}`, s);
  }
  assert.throws(() => parseGoDurationMs('1d'), { message: 'time: unknown unit "d" in duration "1d"' });
  assert.throws(() => parseGoDurationMs('5 s'), { message: 'time: unknown unit " s" in duration "5 s"' });
  assert.throws(() => parseGoDurationMs('3'), { message: 'time: missing unit in duration "3"' });
  assert.throws(() => parseGoDurationMs('1.2.3s'), { message: 'time: missing unit in duration "1.2.3s"' });
});

test('go duration: nanoseconds exactly, and the int64 limits', () => {
  assert.equal(parseGoDuration('1m30.5s'), 90_500_000_000n);
  assert.equal(parseGoDuration('1.000000001s'), 1_000_000_001n);
  assert.equal(parseGoDuration('0.1ns'), 0n);
  assert.equal(parseGoDuration('9223372036854775807ns'), 9223372036854775807n);
  assert.equal(parseGoDuration('-9223372036854775808ns'), -9223372036854775808n);
  assert.equal(parseGoDuration('2562047h47m16.854775807s'), 9223372036854775807n);
  for (const s of ['9223372036854775808ns', '2562048h', '99999999999999999999s']) assert.throws(() => parseGoDuration(s), GoDurationError, s);
  assert.equal(parseGoDurationMs('1.5h'), 5_400_000);
});

test('go duration: non-ASCII and quotes are quoted as the time package does', () => {
  assert.equal(goTimeQuote('1µx'), '"1\\xc2\\xb5x"');
  assert.equal(goTimeQuote('a"b\\'), '"a\\"b\\\\"');
  assert.equal(goTimeQuote('\t'), '"\\x09"');
  assert.throws(() => parseGoDuration('1µx'), { message: 'time: unknown unit "\\xc2\\xb5x" in duration "1\\xc2\\xb5x"' });
});

test('go duration: String()', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '0s'], [999n, '999ns'], [1500n, '1.5µs'], [3_771_752n, '3.771752ms'], [100_000_000n, '100ms'], [2_000_000_000n, '2s'],
    [90_500_000_000n, '1m30.5s'], [600_000_000_000n, '10m0s'], [3_600_000_000_000n, '1h0m0s'], [-1_500_000_000n, '-1.5s'],
  ];
  for (const [ns, s] of cases) assert.equal(formatGoDuration(ns), s);
});

function etcdctlRefusal(value: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('etcdctl', [`--dial-timeout=${value}`, 'version'], { timeout: 10_000 }, (_err, stdout, stderr) => {
      const m = /for "--dial-timeout" flag: (.*)/.exec(`${stderr}${stdout}`);
      resolve(m?.[1] ?? `accepted: ${stdout.trim()}`);
    });
  });
}

test('go duration: the same refusals as Go (etcdctl --dial-timeout)', async () => {
  for (const value of ['abc', '1', '1x', '1µx', '.', '-', '1.2.3s', '5 s', 'a"b', '9223372037s', '2562048h']) {
    let ours: string;
    try {
      parseGoDuration(value);
      ours = 'accepted';
    } catch (e) {
      ours = (e as Error).message;
    }
    assert.equal(ours, await etcdctlRefusal(value), value);
  }
});
