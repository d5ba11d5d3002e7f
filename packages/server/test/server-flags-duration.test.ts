// Go duration flags (--experimental-watch-progress-notify-interval=300ms, --grpc-keepalive-*):
// etcd's refusal wording (checked against the real etcd binary) and the YAML config file's
// nanosecond integers. The parser itself is tested in packages/common/test/go-duration.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFlags, loadConfigFile } from '../src/cmd/flags.js';
import { tempDir } from './server-helpers.js';

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
