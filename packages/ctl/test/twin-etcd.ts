// Test harness for golden tests: two real etcd 3.4 servers started identically (same name,
// advertised URLs and cluster token, hence the same cluster and member IDs), one driven by the
// real etcdctl and one by tsetcdctl. Running the same command sequence on both gives the same
// server state, so outputs can be compared byte for byte (lease IDs and timings aside).

import { isUtf8 } from 'node:buffer';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { BufferOutput, runCtl } from '../src/index.js';

export const tsetcdctlBin = fileURLToPath(new URL('../../../bin/tsetcdctl', import.meta.url));

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_') && !k.startsWith('ETCD_')) env[k] = v;
  return { ...env, ETCDCTL_API: '3', ...extra };
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Run tsetcdctl as a process (./bin/tsetcdctl) instead of in this process. */
  viaBin?: boolean;
}

/**
 * An output as text, byte for byte: UTF-8 text as such (etcdctl prints durations as `µs`), any
 * other bytes (`-w protobuf`, binary values) as latin1 behind a marker, so that two outputs
 * compare equal exactly when their bytes do.
 */
export function decodeOutput(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : `<not UTF-8> ${bytes.toString('latin1')}`;
}

/** Runs tsetcdctl's runCtl in this process (same code as the binary, without node's startup). */
export async function runInProcess(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const out = new BufferOutput();
  const code = await runCtl(args, out, { env: cleanEnv(opts.env), readStdin: async () => opts.stdin ?? '' });
  return { stdout: decodeOutput(out.stdoutBytes), stderr: out.stderrText, code };
}

export function run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: decodeOutput(Buffer.concat(out)), stderr: decodeOutput(Buffer.concat(err)), code });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading stdin
    child.stdin.end(opts.stdin ?? '');
  });
}

export class EtcdServer {
  private proc: ChildProcess | undefined;
  readonly dataDir: string;
  clientPort = 0;
  private peerPort = 0;

  constructor(
    readonly label: string,
    private readonly extraArgs: string[] = [],
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), `tsetcdctl-${label}-`));
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** Starts etcd; `existing` reuses a data dir (e.g. one written by `snapshot restore`). */
  async start(existing?: { dataDir: string; name: string; peerUrl: string; cluster: string; token: string }): Promise<void> {
    if (this.clientPort === 0) {
      this.clientPort = await freePort();
      this.peerPort = await freePort();
    }
    const peerPort = this.peerPort;
    // Advertised URLs are fixed (not the real ports) so that both twins get identical IDs.
    this.proc = spawn(
      'etcd',
      [
        '--name', existing?.name ?? 'twin',
        '--data-dir', existing?.dataDir ?? join(this.dataDir, 'data'),
        '--listen-client-urls', `http://127.0.0.1:${this.clientPort}`,
        '--advertise-client-urls', 'http://127.0.0.1:2379',
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', existing?.peerUrl ?? 'http://127.0.0.1:2380',
        '--initial-cluster', existing?.cluster ?? 'twin=http://127.0.0.1:2380',
        '--initial-cluster-token', existing?.token ?? 'tsetcdctl-golden',
        '--log-level', 'error',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() },
    );
    this.proc.stderr!.resume();
    const deadline = Date.now() + 20000;
    for (;;) {
      const r = await run('etcdctl', ['--endpoints', this.endpoint, '--command-timeout=500ms', 'endpoint', 'health']);
      if (r.code === 0) return;
      if (Date.now() > deadline) throw new Error(`etcd ${this.label} did not start: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** Backend commits so far (etcd's etcd_disk_backend_commit_duration_seconds_count). */
  async backendCommits(): Promise<number> {
    const text = await (await fetch(`http://${this.endpoint}/metrics`)).text();
    const m = /^etcd_disk_backend_commit_duration_seconds_count (\d+)$/m.exec(text);
    if (m === null) throw new Error(`etcd ${this.label}: no backend commit counter in /metrics`);
    return Number(m[1]);
  }

  /**
   * Resolves once the backend commit counter passed `count` (read before a write: the write is
   * then in the file, as etcd commits only when writes are pending).
   */
  async commitAfter(count: number, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.backendCommits()) <= count) {
      if (Date.now() > deadline) throw new Error(`etcd ${this.label}: no backend commit within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Kills etcd (keeping its data dir). */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      const exited = new Promise((res) => p.once('exit', res));
      p.kill('SIGKILL');
      await exited;
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export type Side = 'real' | 'ours';

export interface Twins {
  real: EtcdServer;
  ours: EtcdServer;
  /** Runs etcdctl on the real twin and tsetcdctl on ours (concurrently); args may depend on the side. */
  both(args: string[] | ((side: Side) => string[]), opts?: RunOptions | ((side: Side) => RunOptions)): Promise<{ real: RunResult; ours: RunResult }>;
}

export async function startTwins(t: TestContext, etcdArgs: string[] = []): Promise<Twins> {
  const real = new EtcdServer('real', etcdArgs);
  const ours = new EtcdServer('ours', etcdArgs);
  t.after(async () => {
    await Promise.all([real.stop(), ours.stop()]);
  });
  await Promise.all([real.start(), ours.start()]);
  return {
    real,
    ours,
    async both(args, opts) {
      const argsOf = (s: Side) => (typeof args === 'function' ? args(s) : args);
      const optsOf = (s: Side) => (typeof opts === 'function' ? opts(s) : (opts ?? {}));
      const [r, o] = await Promise.all([
        run('etcdctl', ['--endpoints', real.endpoint, ...argsOf('real')], optsOf('real')),
        optsOf('ours').viaBin
          ? run(tsetcdctlBin, ['--endpoints', ours.endpoint, ...argsOf('ours')], optsOf('ours'))
          : runInProcess(['--endpoints', ours.endpoint, ...argsOf('ours')], optsOf('ours')),
      ]);
      return { real: normalize(r, real.endpoint), ours: normalize(o, ours.endpoint) };
    },
  };
}

/** Removes what legitimately differs: endpoints, zap/capnslog log lines and timestamps, durations. */
export function normalize(r: RunResult, endpoint: string): RunResult {
  const fix = (s: string) =>
    s
      .split(endpoint).join('<EP>')
      .split('\n')
      .filter((l) => !l.startsWith('{"level":'))
      .join('\n')
      .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} /gm, '<TS> ')
      // Go durations (time.Duration.String: 911.909µs, 1.5s, 1m2.003s); whole seconds are TTLs, kept
      .replace(/(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s)\b/g, (m) => (/^\d+s$/.test(m) ? m : '<DUR>'))
      .replace(/"took":"[^"]*"/g, '"took":"<DUR>"');
  return { stdout: fix(r.stdout), stderr: fix(r.stderr), code: r.code };
}
