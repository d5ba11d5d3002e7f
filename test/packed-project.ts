// A fresh npm project outside the workspace with the workspace's packages installed from the
// tarballs `npm pack` makes, and the commands run in it as a user would: `npx …` children in
// their own process group (killed as a shell kills a job), lines read as they come.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './kit/wait.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const workspacePackages = ['proto', 'raft', 'common', 'server', 'client', 'ctl', 'rpc'];

/** The environment of a user's shell: nothing of the npm run that started the tests. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end; rejects with its output when it fails or outlives timeoutMs. */
export function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `npm pack` of every workspace package (their prepack builds); returns the tarball paths. */
export async function packWorkspace(dest: string): Promise<string[]> {
  const out = await run('npm', ['pack', '--json', '--pack-destination', dest, ...workspacePackages.flatMap((p) => ['-w', `packages/${p}`])], repoRoot);
  const packed = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
  return packed.map((p) => join(dest, p.filename));
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** A long-running command of the walkthrough (`npx tsx server.ts …`) and what it printed. */
export class Job {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    cwd: string,
  ) {
    // detached: its own process group, like a shell job; npx's children get the signal too
    this.child = spawn(cmd, args, { cwd, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close': npx has exited and so has everything it started that still held its output
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          this.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private push(line: string): void {
    this.lines.push(line);
    const index = this.lines.length - 1;
    this.waiters = this.waiters.filter((w) => {
      const m = index >= w.from ? line.match(w.re) : null;
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** The first line at or after index `from` matching re; rejects after timeoutMs or at exit. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    for (let i = from; i < this.lines.length; i++) {
      const m = this.lines[i].match(re);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`${this.name}: ${why} waiting for ${re}; output:\n${this.lines.join('\n')}`));
      const timer = setTimeout(() => fail(`${timeoutMs} ms passed`), timeoutMs);
      const waiter = {
        re,
        from,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then((e) => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        fail(`exited (${e.code ?? e.signal})`);
      });
    });
  }

  /**
   * Signals the whole process group (as `kill -SIG %job`) and waits until every process of it
   * is gone: npx may exit before the command it started has finished shutting down.
   */
  async kill(signal: NodeJS.Signals, timeoutMs = 20_000): Promise<void> {
    if (!this.signalGroup(signal)) return;
    await this.exited;
    // no event tells when a grandchild is gone: a bounded poll of the group
    await waitFor(`${this.name}'s process group to end`, () => !this.signalGroup(0), timeoutMs, 50).catch(() => {
      this.signalGroup('SIGKILL');
      throw new Error(`${this.name}: still running ${timeoutMs} ms after ${signal}; output:\n${this.lines.join('\n')}`);
    });
  }

  /** kill(2) on the group; false when no process of it is left. */
  private signalGroup(signal: NodeJS.Signals | 0): boolean {
    try {
      process.kill(-this.child.pid!, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Code blocks of a markdown section: `{ lang, body }` in order. */
export async function markdownSection(file: string, heading: string): Promise<{ text: string; blocks: { lang: string; body: string }[] }> {
  const md = await readFile(file, 'utf8');
  const start = md.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file}: no section "${heading}"`);
  const rest = md.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  const text = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] }));
  return { text, blocks };
}
