import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const failpointModuleUrl = new URL('../src/failpoint/index.ts', import.meta.url).href;
const packageDir = new URL('..', import.meta.url).pathname; // so the child resolves tsx
import { EntryType } from '@tsetcd/raft';
import {
  FailpointPanicError,
  FailpointSpecError,
  failpoint,
  failpointHits,
  failpointsEnabled,
  parseFailpoints,
  setFailpoints,
} from '../src/failpoint/index.js';
import { Wal, WalFailedError } from '../src/wal/index.js';

test('parses actions, counts and sleeps; rejects malformed specs', () => {
  const m = parseFailpoints(' walBeforeSync=exit ; a=2*panic;b=sleep(15);c=off;');
  assert.deepEqual(m.get('walBeforeSync'), { action: { kind: 'exit' }, onHit: undefined });
  assert.deepEqual(m.get('a'), { action: { kind: 'panic' }, onHit: 2 });
  assert.deepEqual(m.get('b'), { action: { kind: 'sleep', ms: 15 }, onHit: undefined });
  assert.deepEqual(m.get('c'), { action: { kind: 'off' }, onHit: undefined });
  for (const bad of ['x', '=exit', 'a=boom', 'a=0*exit', 'a=sleep(x)', '1a=exit']) {
    assert.throws(() => parseFailpoints(bad), FailpointSpecError, bad);
  }
});

test('disabled by default; panic on the configured hit; sleep blocks', (t) => {
  t.after(() => setFailpoints(undefined));
  assert.equal(failpointsEnabled(), false);
  failpoint('walBeforeSync'); // no-op
  setFailpoints('p=3*panic;s=sleep(30)');
  assert.equal(failpointsEnabled(), true);
  failpoint('p');
  failpoint('p');
  assert.throws(() => failpoint('p'), (err: unknown) => err instanceof FailpointPanicError && err.code === 'FAILPOINT_PANIC');
  failpoint('p'); // only the third hit triggers
  assert.equal(failpointHits('p'), 4);
  const t0 = performance.now();
  failpoint('s');
  assert.ok(performance.now() - t0 >= 25);
  failpoint('unknown');
  assert.equal(failpointHits('unknown'), 0);
});

test('a panic inside the WAL rejects the save and fails the log', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-fp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  t.after(() => setFailpoints(undefined));
  const wal = await Wal.create(dir, Buffer.alloc(0));
  t.after(() => wal.close());
  await wal.save(undefined, [{ index: 1, term: 1, type: EntryType.Normal, data: Buffer.from('a') }], true);
  setFailpoints('walBeforeSync=panic');
  await assert.rejects(wal.save(undefined, [{ index: 2, term: 1, type: EntryType.Normal, data: Buffer.from('b') }], true), WalFailedError);
  setFailpoints(undefined);
  await assert.rejects(wal.sync(), { code: 'WAL_FAILED' });
});

test('exit kills the process with SIGKILL at the named point', () => {
  const code = `import { failpoint } from '${failpointModuleUrl}'; console.log('before'); failpoint('walBeforeSync'); console.log('after');`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, TSETCD_FAILPOINTS: 'walBeforeSync=exit' },
    encoding: 'utf8',
    cwd: packageDir,
    timeout: 20_000,
  });
  assert.equal(res.signal, 'SIGKILL');
  assert.equal(res.stdout.trim(), 'before');
});

test('a bad spec in the environment fails loudly at load', () => {
  const code = `import '${failpointModuleUrl}';`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, TSETCD_FAILPOINTS: 'walBeforeSync=explode' },
    encoding: 'utf8',
    cwd: packageDir,
    timeout: 20_000,
  });
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /FAILPOINT_BAD_SPEC|bad failpoint spec/);
});
