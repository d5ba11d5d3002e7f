// Runs ./bin/tsetcd as a child process for end-to-end tests: port 0, the bound address read
// from its "serving client traffic" log line, stop by signal, everything cleaned by t.after.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { onLines } from './processes.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const tsetcdBin = join(repoRoot, 'bin', 'tsetcd');

export interface TsetcdProcess {
  child: ChildProcess;
  endpoint: string;
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsetcd-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts tsetcd on 127.0.0.1:0 (unless args say otherwise) and resolves once it serves clients. */
export function startTsetcd(t: TestContext, dataDir: string, args: string[] = []): Promise<TsetcdProcess> {
  const child = spawn(tsetcdBin, ['--data-dir', dataDir, '--listen-client-urls', 'http://127.0.0.1:0', '--heartbeat-interval', '20', '--election-timeout', '200', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return new Promise((resolve, reject) => {
    let endpoint: string | undefined;
    const timer = setTimeout(() => reject(new Error(`tsetcd did not become ready:\n${logs.join("\n")}`)), 60000);
    onLines(child.stderr!, (line) => {
      logs.push(line);
      try {
        const rec = JSON.parse(line) as { msg: string; address?: string };
        if (rec.msg.startsWith('serving client traffic') && rec.address) endpoint = rec.address;
        if (endpoint && rec.msg.startsWith('serving client traffic')) {
          clearTimeout(timer);
          resolve({ child, endpoint, logs, exited });
        }
      } catch {
        // not JSON
      }
    });
    exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`tsetcd exited (${e.code ?? e.signal}) before ready:\n${logs.join('\n')}`));
    });
  });
}

/**
 * Starts `tsetcd <args>` (a sub-command such as gateway or grpc-proxy) and resolves once a line of
 * its output holds `readyText`; killed by t.after. `logs` keeps every line as it comes.
 */
export function startTsetcdCommand(
  t: TestContext,
  args: string[],
  readyText: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ logs: string[] }> {
  const child = spawn(tsetcdBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const logs: string[] = [];
  const exited = new Promise((r) => child.on('exit', r));
  t.after(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tsetcd ${args[0]} not ready:\n${logs.join('\n')}`)), opts.timeoutMs ?? 30_000);
    const onLine = (line: string) => {
      if (line === '') return;
      logs.push(line);
      if (line.includes(readyText)) {
        clearTimeout(timer);
        resolve({ logs });
      }
    };
    onLines(child.stdout!, onLine);
    onLines(child.stderr!, onLine);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`tsetcd ${args[0]} exited:\n${logs.join('\n')}`));
    });
  });
}
