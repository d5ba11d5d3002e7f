// Crash tests with real processes: a child appends to the WAL and reports each durable save; we
// SIGKILL it at random moments or let a failpoint kill it, then reopen and check that every
// acknowledged record is there, intact, and that the log is one the issued saves could produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HardState } from '@tsetcd/raft';
import { Wal } from '../src/wal/index.js';
import { crashEntryData } from './fixtures/wal-crash-data.js';

const segmentBytes = 48 * 1024; // small, so rounds cross segment cuts
const fixture = fileURLToPath(new URL('./fixtures/wal-crash-writer.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
// Generous: child start-up (tsx) takes tens of seconds on an overloaded machine. Once ready, a
// failpoint child must die within the second limit.
const childReadyDeadlineMs = 120_000;
const childRunDeadlineMs = 20_000;

interface Issued {
  first: number;
  last: number;
  term: number;
  sync: boolean;
}

interface RoundResult {
  signal: NodeJS.Signals | null;
  code: number | null;
  ready: { lastIndex: number; term: number } | undefined;
  issued: Issued[];
  acked: number; // highest acknowledged save number (acks arrive in issue order)
  stderr: string;
  hitDeadline: boolean;
}

function runChild(dir: string, seed: number, opts: { killAfterMs?: number; failpoints?: string }): Promise<RoundResult> {
  const env = { ...process.env };
  if (opts.failpoints) env.TSETCD_FAILPOINTS = opts.failpoints;
  else delete env.TSETCD_FAILPOINTS;
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, String(seed), String(segmentBytes)], {
    cwd: packageDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: RoundResult = { signal: null, code: null, ready: undefined, issued: [], acked: 0, stderr: '', hitDeadline: false };
  let pending = '';
  let killTimer: NodeJS.Timeout | undefined;
  const onDeadline = () => {
    result.hitDeadline = true;
    child.kill('SIGKILL');
  };
  let deadline = setTimeout(onDeadline, childReadyDeadlineMs);
  child.stderr.setEncoding('utf8').on('data', (s: string) => (result.stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const f = line.split(' ');
      if (f[0] === 'ready') {
        result.ready = { lastIndex: Number(f[1]), term: Number(f[2]) };
        clearTimeout(deadline);
        deadline = setTimeout(onDeadline, childRunDeadlineMs);
        if (opts.killAfterMs !== undefined) killTimer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
      } else if (f[0] === 'issue') {
        assert.equal(Number(f[1]), result.issued.length + 1);
        result.issued.push({ first: Number(f[2]), last: Number(f[3]), term: Number(f[4]), sync: f[5] === '1' });
      } else if (f[0] === 'ack') {
        const n = Number(f[1]);
        assert.ok(n > result.acked, `acks out of order: ${n} after ${result.acked}`);
        assert.ok(result.issued[n - 1]?.sync, `ack for unsynced or unknown save ${n}`);
        result.acked = n;
      }
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      result.code = code;
      result.signal = signal;
      resolve(result);
    });
  });
}

function apply(log: number[], s: Issued): number[] {
  const out = log.slice(0, s.first - 1);
  for (let i = s.first; i <= s.last; i++) out.push(s.term);
  return out;
}

/** Reopens the log and checks it against what the child acknowledged. Returns the new model. */
async function verify(dir: string, before: { log: number[]; hs: HardState }, r: RoundResult, label: string) {
  assert.ok(r.ready, `${label}: child never became ready: ${r.stderr}`);
  assert.equal(r.ready.lastIndex, before.log.length, `${label}: child replayed a different log`);
  const { wal, entries, hardState } = await Wal.open(dir, { segmentBytes });
  await wal.close();
  const got = entries.map((e) => e.term);
  entries.forEach((e, i) => {
    assert.equal(e.index, i + 1);
    assert.ok(Buffer.from(e.data).equals(crashEntryData(e.index, e.term)), `${label}: entry ${e.index} damaged`);
  });
  // The log must be the acknowledged state plus the saves issued after it, in order, the last
  // of them possibly only in part (SIGKILL can interrupt a write between records).
  let model = before.log;
  for (let s = 0; s < r.acked; s++) model = apply(model, r.issued[s]);
  let matched = -1;
  for (let j = r.acked; j <= r.issued.length && matched < 0; j++) {
    if (j > r.acked) model = apply(model, r.issued[j - 1]);
    if (model.length === got.length && model.every((t, i) => t === got[i])) matched = j;
    const next = r.issued[j];
    if (next && got.length >= next.first - 1 && got.length <= next.last) {
      const partial = got.every((t, i) => (i < next.first - 1 ? t === model[i] : t === next.term));
      if (partial) matched = j;
    }
  }
  assert.ok(matched >= 0, `${label}: replayed log (${got.length} entries) is not the acknowledged log plus issued saves (acked ${r.acked} of ${r.issued.length})`);
  // The hard state is at least the one written with the last acknowledged save.
  if (r.acked > 0) {
    const ok = r.issued.slice(r.acked - 1).some((s) => s.term === hardState.term && s.last === hardState.commit);
    assert.ok(ok, `${label}: hard state ${JSON.stringify({ ...hardState, vote: String(hardState.vote) })} not from an acknowledged-or-later save`);
  }
  return { log: got, hs: hardState, matched };
}

async function newLog(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const wal = await Wal.create(dir, Buffer.from('crash-test'), { segmentBytes });
  await wal.close();
  return dir;
}

async function randomKills(dir: string, rounds: number): Promise<void> {
  let state = { log: [] as number[], hs: { term: 0, vote: 0n, commit: 0 } as HardState };
  let acked = 0;
  for (let round = 0; round < rounds; round++) {
    const r = await runChild(dir, 1000 + round, { killAfterMs: 20 + ((round * 97) % 300) });
    assert.equal(r.signal, 'SIGKILL', `round ${round}: child ended by itself (code ${r.code}): ${r.stderr}`);
    const v = await verify(dir, state, r, `round ${round}`);
    state = { log: v.log, hs: v.hs };
    acked += r.acked;
  }
  assert.ok(acked > 0, 'the children acknowledged saves');
  assert.ok(state.log.length > 0);
}

async function failpointKills(dir: string, points: string[]): Promise<void> {
  let state = { log: [] as number[], hs: { term: 0, vote: 0n, commit: 0 } as HardState };
  for (const [round, fp] of points.entries()) {
    const r = await runChild(dir, 2000 + round, { failpoints: fp });
    assert.equal(r.signal, 'SIGKILL', `${fp}: child did not die at the failpoint (code ${r.code}): ${r.stderr}`);
    assert.equal(r.hitDeadline, false, `${fp}: failpoint never fired`);
    const v = await verify(dir, state, r, fp);
    state = { log: v.log, hs: v.hs };
  }
  assert.ok(state.log.length > 0);
}

// The lanes use separate logs and run side by side: child start-up (tsx) dominates the time.
test('crashes never lose an acknowledged save', { concurrency: 3 }, async (t) => {
  const randomDir = await newLog(t);
  const fpDirA = await newLog(t);
  const fpDirB = await newLog(t);
  await Promise.all([
    t.test('SIGKILL at random moments', () => randomKills(randomDir, 4)),
    t.test('SIGKILL from write and cut failpoints', () =>
      failpointKills(fpDirA, ['walBeforeWrite=7*exit', 'walAfterWrite=5*exit', 'walBeforeCut=1*exit'])),
    t.test('SIGKILL from sync and cut failpoints', () =>
      failpointKills(fpDirB, ['walBeforeSync=9*exit', 'walAfterSync=12*exit', 'walAfterCut=2*exit'])),
  ]);
});
